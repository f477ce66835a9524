"""Templated pipelines (MPT v2) through the API: saved and validated against their template,
planned by ``POST /v2/pipelineTemplates/plan``, run through the engine with their variables,
injections and inherited triggers and parameters, pinned by digest while tags move."""

from __future__ import annotations

from typing import Any

from gennaker.services import Services
from gennaker.store.templates import template_digest
from gennaker.testing import run_until_idle
from tests.api.conftest import create_application
from tests.api.live import SyncClient

TEMPLATE: dict[str, Any] = {
    "schema": "v2",
    "id": "deploy-base",
    "metadata": {"name": "Deploy base", "description": "bake then deploy", "owner": "o@example.com"},
    "variables": [
        {"name": "region", "type": "string", "description": "where"},
        {"name": "replicas", "type": "int", "defaultValue": 2},
    ],
    "pipeline": {
        "parameterConfig": [{"name": "env", "default": "staging"}],
        "triggers": [{"type": "webhook", "source": "deploy-base-hook", "enabled": True}],
        "stages": [
            {"refId": "bake", "type": "noop", "name": "Bake", "requisiteStageRefIds": []},
            {
                "refId": "deploy",
                "type": "noop",
                "name": "Deploy",
                "requisiteStageRefIds": ["bake"],
                "custom": {
                    "region": "${ templateVariables.region }",
                    "replicas": "${ templateVariables.replicas }",
                    "env": "${ trigger.parameters.env }",
                },
            },
        ],
    },
}


def _save_template(client: SyncClient, template: dict[str, Any], tag: str = "stable") -> None:
    response = client.post(
        "/v2/pipelineTemplates/update/" + template["id"], json=template, params={"tag": tag}
    )
    assert response.status_code == 202, response.text
    assert client.get(response.json()["ref"]).json()["status"] == "SUCCEEDED"


def _instance(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schema": "v2",
        "type": "templatedPipeline",
        "application": "shop",
        "name": "from-template",
        "template": {
            "type": "front50/pipelineTemplate",
            "artifactAccount": "front50ArtifactCredentials",
            "reference": "spinnaker://deploy-base:stable",
        },
        "variables": {"region": "eu-west-1"},
        "exclude": [],
        "triggers": [],
        "parameters": [],
        "notifications": [],
        "stages": [
            {
                "refId": "approve",
                "type": "noop",
                "name": "Approve",
                "requisiteStageRefIds": [],
                "inject": {"before": ["deploy"]},
            }
        ],
    }
    body.update(extra)
    return body


def _run(client: SyncClient, services: Services, name: str = "from-template") -> dict[str, Any]:
    response = client.post(f"/pipelines/shop/{name}", json={"type": "manual"})
    assert response.status_code == 202, response.text
    run_until_idle(services)
    execution: dict[str, Any] = client.get(response.json()["ref"]).json()
    return execution


def test_a_templated_pipeline_saves_plans_and_runs(client: SyncClient, services: Services) -> None:
    create_application(client)
    _save_template(client, TEMPLATE)
    saved = client.post("/pipelines", json=_instance())
    assert saved.status_code == 200, saved.text

    planned = client.post("/v2/pipelineTemplates/plan", json=saved.json()).json()
    assert [s["refId"] for s in planned["stages"]] == ["bake", "approve", "deploy"]
    assert planned["templateVariables"] == {"region": "eu-west-1", "replicas": 2}
    assert planned["parameterConfig"] == [{"name": "env", "default": "staging", "inherited": True}]
    assert planned["id"] == saved.json()["id"] and planned["application"] == "shop"

    execution = _run(client, services)
    assert execution["status"] == "SUCCEEDED"
    by_ref = {s["refId"]: s for s in execution["stages"]}
    assert by_ref["approve"]["requisiteStageRefIds"] == ["bake"]
    assert by_ref["deploy"]["requisiteStageRefIds"] == ["approve"]
    assert by_ref["deploy"]["context"]["custom"] == {"region": "eu-west-1", "replicas": 2, "env": "staging"}
    assert execution["templateVariables"] == {"region": "eu-west-1", "replicas": 2}
    stored = client.get("/v2/pipelineTemplates/deploy-base", params={"tag": "stable"}).json()
    assert execution["gennaker"]["template"] == {
        "id": "deploy-base",
        "reference": "spinnaker://deploy-base:stable",
        "digest": template_digest(stored),
    }


def test_bad_templated_pipelines_are_refused_at_their_path_and_nothing_is_saved(client: SyncClient) -> None:
    create_application(client)
    _save_template(client, TEMPLATE)
    cases = [
        (
            _instance(template={"reference": "spinnaker://missing"}),
            "$.template.reference",
            "No pipeline template found with id missing:latest",
        ),
        (_instance(variables={"region": 7}), "$.variables.region", "must be of type string (found Integer)"),
        (_instance(variables={}), "$.variables.region", "is required by template deploy-base"),
        (
            _instance(stages=[{"refId": "x", "type": "noop", "inject": {"after": ["nowhere"]}}]),
            "$.stages[0].inject.after",
            "unknown target stage id 'nowhere'",
        ),
        (
            _instance(
                stages=[
                    {
                        "refId": "x",
                        "type": "noop",
                        "requisiteStageRefIds": ["deploy"],
                        "inject": {"before": ["bake"]},
                    }
                ]
            ),
            "$.stages[0].inject",
            "cycle",
        ),
        (_instance(template={}), "$.template.reference", "is required"),
    ]
    for body, path, message in cases:
        response = client.post("/pipelines", json=body)
        assert response.status_code == 400, (body, response.text)
        errors = response.json()["errors"]
        assert any(e["path"] == path and message in e["message"] for e in errors), (path, errors)
        assert client.post("/pipelines/validate", json=body).status_code == 400
    assert client.get("/applications/shop/pipelineConfigs").json() == []


def test_a_protected_template_refuses_stage_changes(client: SyncClient) -> None:
    create_application(client)
    _save_template(client, {**TEMPLATE, "protect": True})
    refused = client.post("/pipelines", json=_instance())
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["path"] == "$.stages"
    assert client.post("/pipelines", json=_instance(stages=[])).status_code == 200


def test_a_digest_pin_keeps_working_when_the_tag_moves(client: SyncClient, services: Services) -> None:
    create_application(client)
    _save_template(client, TEMPLATE)
    digest = client.get("/v2/pipelineTemplates").json()
    pinned_digest = next(t["digest"] for t in digest if t.get("tag") == "stable")
    pinned = _instance(
        name="pinned", template={"reference": f"spinnaker://deploy-base@sha256:{pinned_digest}"}, stages=[]
    )
    assert client.post("/pipelines", json=pinned).status_code == 200
    assert client.post("/pipelines", json=_instance(name="moving", stages=[])).status_code == 200

    changed = {
        **TEMPLATE,
        "pipeline": {**TEMPLATE["pipeline"], "stages": [TEMPLATE["pipeline"]["stages"][0]]},
    }
    _save_template(client, changed)

    assert [s["refId"] for s in _run(client, services, "pinned")["stages"]] == ["bake", "deploy"]
    assert [s["refId"] for s in _run(client, services, "moving")["stages"]] == ["bake"]


def test_exclude_and_inherit_choose_the_collections(client: SyncClient) -> None:
    create_application(client)
    _save_template(client, TEMPLATE)
    own_trigger = {"type": "webhook", "source": "own", "enabled": True}
    excluded = client.post(
        "/v2/pipelineTemplates/plan", json=_instance(exclude=["triggers"], triggers=[own_trigger])
    ).json()
    assert excluded["triggers"] == [own_trigger]
    merged = client.post("/v2/pipelineTemplates/plan", json=_instance(triggers=[own_trigger])).json()
    assert merged["triggers"] == [{**TEMPLATE["pipeline"]["triggers"][0], "inherited": True}, own_trigger]
    only_params = client.post("/v2/pipelineTemplates/plan", json=_instance(inherit=["parameters"])).json()
    assert only_params["triggers"] == [] and len(only_params["parameterConfig"]) == 1
    assert client.post("/v2/pipelineTemplates/plan", json={"name": "x"}).status_code == 400


def test_an_inherited_trigger_starts_the_templated_pipeline(client: SyncClient, services: Services) -> None:
    create_application(client)
    _save_template(client, TEMPLATE)
    assert client.post("/pipelines", json=_instance()).status_code == 200
    response = client.post("/webhooks/webhook/deploy-base-hook", json={"ref": "main"})
    assert response.status_code == 200, response.text
    run_until_idle(services)
    executions = client.get("/applications/shop/pipelines").json()
    assert len(executions) == 1
    assert executions[0]["trigger"]["type"] == "webhook"
    assert executions[0]["status"] == "SUCCEEDED"
    assert [s["refId"] for s in executions[0]["stages"]] == ["bake", "approve", "deploy"]
