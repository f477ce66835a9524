"""Saving a pipeline (or template) whose stages need a stage type or cloud provider that is not
configured here is refused with the message the run would fail with, naming the stage's refId and
the override field; ``allowUnavailableStages: true`` saves configs meant for another installation.
The shapes are those of public pipeline JSON (a runJob with ``cloudProvider: kubernetes``, Deck's
``runJobManifest``)."""

from __future__ import annotations

from typing import Any

from gennaker.api import create_app
from gennaker.engine.registry import Registry
from gennaker.hookspecs import hookimpl
from gennaker.services import Services
from gennaker.testing import make_services, run_until_idle
from tests.api.conftest import create_application
from tests.api.live import SyncClient
from tests.engine.fakes import EngineTestPlugin

HINT = "; set allowUnavailableStages: true on the config to save it for another installation"
KUBE_JOB = {"refId": "job", "type": "runJob", "cloudProvider": "kubernetes", "account": "k8s", "manifest": {}}


def _pipeline(*stages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"application": "shop", "name": "ported", "stages": list(stages), **extra}


def test_unconfigured_provider_and_stage_type_are_refused_at_save(client: SyncClient) -> None:
    create_application(client)
    body = _pipeline(
        {"refId": "1", "type": "wait", "waitTime": 1},
        {**KUBE_JOB, "requisiteStageRefIds": ["1"]},
        {"refId": "3", "type": "runJobManifest", "requisiteStageRefIds": ["1"]},
        {
            "refId": "4",
            "type": "runJob",
            "cloudProvider": "${parameters.provider}",
            "requisiteStageRefIds": ["1"],
        },
    )
    response = client.post("/pipelines", json=body)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "path": "$.stages[1].cloudProvider",
            "message": "stage 'job': runJob with cloudProvider 'kubernetes' is not available here "
            "(available: local)" + HINT,
        },
        {"path": "$.stages[2].type", "message": "stage '3': unknown stage type 'runJobManifest'" + HINT},
    ]
    assert client.get("/applications/shop/pipelineConfigs").json() == []
    assert client.post("/pipelines/validate", json=body).status_code == 400
    # The same config through Deck's savePipeline task fails the task, saving nothing.
    task = client.post(
        "/tasks",
        json={
            "application": "shop",
            "description": "save",
            "job": [{"type": "savePipeline", "pipeline": body}],
        },
    )
    assert client.get(task.json()["ref"]).json()["status"] == "TERMINAL"
    assert client.get("/applications/shop/pipelineConfigs").json() == []


def test_the_override_saves_it_and_the_run_fails_with_the_same_message(
    client: SyncClient, services: Services
) -> None:
    create_application(client)
    saved = client.post("/pipelines", json=_pipeline(KUBE_JOB, allowUnavailableStages=True))
    assert saved.status_code == 200, saved.text
    assert saved.json()["allowUnavailableStages"] is True
    started = client.post("/pipelines/shop/ported", json={})
    assert started.status_code == 202
    run_until_idle(services)
    execution = client.get(started.json()["ref"]).json()
    assert execution["status"] == "TERMINAL"
    errors = execution["stages"][0]["context"]["exception"]["details"]["errors"]
    assert errors == ["runJob with cloudProvider 'kubernetes' is not available here (available: local)"]
    bad = client.post("/pipelines", json=_pipeline(KUBE_JOB, allowUnavailableStages="yes"))
    assert bad.json()["errors"][0] == {"path": "$.allowUnavailableStages", "message": "must be true or false"}


class _Kubernetes:
    """A provider module declaring itself (as the local provider does), without stage types."""

    @hookimpl
    def register_stages(self, registry: Registry, settings: Any) -> None:
        registry.add_cloud_provider("kubernetes")


def test_a_registered_provider_is_accepted(database_url: str) -> None:
    with_kube = make_services(database_url, plugins=(EngineTestPlugin(), _Kubernetes()))
    client = SyncClient(create_app(with_kube))
    try:
        create_application(client)
        assert client.post("/pipelines", json=_pipeline(KUBE_JOB)).status_code == 200
        assert with_kube.registry.cloud_providers() == ["kubernetes", "local"]  # local: the built-in provider
    finally:
        client.close()
        with_kube.close()


def test_templates_get_the_same_stage_checks(client: SyncClient) -> None:
    template = {
        "schema": "v2",
        "id": "ported",
        "metadata": {"name": "Ported", "description": "d", "owner": "o@example.com", "scopes": ["global"]},
        "variables": [],
        "pipeline": {"stages": [{"refId": "a", "type": "deployManifest", "cloudProvider": "kubernetes"}]},
    }
    ref = client.post("/v2/pipelineTemplates/create", json=template)
    task = client.get(ref.json()["ref"]).json()
    assert task["status"] == "TERMINAL"
    assert task["execution"]["stages"][0]["context"]["exception"]["details"]["errors"] == [
        "$.pipeline.stages[0].cloudProvider: stage 'a': deployManifest with cloudProvider 'kubernetes' is not "
        "available here (available: local)" + HINT
    ]
    assert client.get("/v2/pipelineTemplates/ported").status_code == 404
    ref = client.post("/v2/pipelineTemplates/create", json={**template, "allowUnavailableStages": True})
    assert client.get(ref.json()["ref"]).json()["status"] == "SUCCEEDED"
