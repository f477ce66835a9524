"""Starting pipelines and reading executions: Gate's shapes, per-config limits, expand, search."""

from __future__ import annotations

from typing import Any

from gennaker.services import Services
from gennaker.testing import run_until_idle
from tests.api.conftest import create_application, save_pipeline
from tests.api.live import SyncClient


def _start(client: SyncClient, name: str = "deploy", **trigger: Any) -> str:
    response = client.post(f"/pipelines/shop/{name}", json=trigger or None)
    assert response.status_code == 202, response.text
    ref: str = response.json()["ref"]
    assert ref.startswith("/pipelines/")
    return ref.removeprefix("/pipelines/")


def test_start_with_parameters_and_read_the_execution(client: SyncClient, services: Services) -> None:
    create_application(client)
    saved = save_pipeline(
        client,
        parameterConfig=[{"name": "env", "required": True}, {"name": "region", "default": "eu"}],
        stages=[{"refId": "1", "type": "noop", "name": "Go", "custom": {"x": 1}}],
    )
    missing = client.post("/pipelines/shop/deploy", json={"type": "manual", "parameters": {}})
    assert missing.status_code == 400
    assert missing.json()["errors"] == [
        {"path": "$.parameters.env", "message": "required parameter 'env' is missing"}
    ]
    execution_id = _start(client, parameters={"env": "prod"}, user="alice", dryRun=False, extra="kept")
    run_until_idle(services)
    execution = client.get(f"/pipelines/{execution_id}").json()
    assert execution["status"] == "SUCCEEDED"
    assert execution["type"] == "PIPELINE" and execution["pipelineConfigId"] == saved["id"]
    assert execution["trigger"]["parameters"] == {"env": "prod", "region": "eu"}
    assert execution["trigger"]["user"] == "alice" and execution["trigger"]["extra"] == "kept"
    assert execution["stages"][0]["context"]["custom"] == {"x": 1}
    by_id = _start(client, name=saved["id"], parameters={"env": "dev"})
    assert client.get(f"/pipelines/{by_id}").json()["trigger"]["parameters"]["env"] == "dev"


def test_start_unknown_or_disabled_pipelines(client: SyncClient) -> None:
    create_application(client)
    response = client.post("/pipelines/shop/ghost", json={})
    assert response.status_code == 404
    assert response.json()["message"] == "pipeline 'ghost' not found in application 'shop' (by name or id)"
    save_pipeline(client, name="off", disabled=True)
    assert client.post("/pipelines/shop/off", json={}).status_code == 409
    assert client.get("/pipelines/nope").status_code == 404


def test_v2_start_and_start_with_a_full_config(client: SyncClient, services: Services) -> None:
    create_application(client)
    save_pipeline(client)
    response = client.post("/pipelines/v2/shop/deploy", json={"type": "manual"})
    assert response.status_code == 202
    body = response.json()
    execution = client.get(body["ref"]).json()
    assert execution["trigger"]["eventId"] == body["eventId"]

    config = {
        "application": "shop",
        "name": "adhoc",
        "stages": [{"refId": "1", "type": "noop"}],
        "trigger": {"type": "manual", "parameters": {"a": 1}},
    }
    started = client.post("/pipelines/start", json=config)
    assert started.status_code == 202
    run_until_idle(services)
    adhoc = client.get(started.json()["ref"]).json()
    assert adhoc["status"] == "SUCCEEDED" and adhoc["trigger"]["parameters"] == {"a": 1}
    bad = client.post(
        "/pipelines/start", json={"application": "shop", "name": "x", "stages": [{"type": "nope"}]}
    )
    assert bad.status_code == 400


def test_application_executions_limit_is_per_config_and_expand_strips(
    client: SyncClient, services: Services
) -> None:
    create_application(client)
    first = save_pipeline(client, name="one", stages=[{"refId": "1", "type": "noop", "note": "n"}])
    second = save_pipeline(client, name="two")
    for _ in range(3):
        _start(client, "one")
        services.clock.advance(ms=10)  # type: ignore[attr-defined]
    _start(client, "two")
    run_until_idle(services)
    listed = client.get("/applications/shop/pipelines", params={"limit": 2}).json()
    assert sorted(e["pipelineConfigId"] for e in listed) == sorted([first["id"], first["id"], second["id"]])
    assert all(s["context"] == {} and s["outputs"] == {} for e in listed for s in e["stages"])
    expanded = client.get("/applications/shop/pipelines", params={"limit": 1, "expand": "true"}).json()
    one = next(e for e in expanded if e["pipelineConfigId"] == first["id"])
    assert one["stages"][0]["context"]["note"] == "n"
    assert client.get("/applications/shop/pipelines", params={"statuses": "RUNNING"}).json() == []
    bad = client.get("/applications/shop/pipelines", params={"statuses": "WHATEVER"})
    assert bad.status_code == 400 and "WHATEVER" in bad.json()["message"]


def test_executions_by_config_and_by_id(client: SyncClient, services: Services) -> None:
    create_application(client)
    saved = save_pipeline(client)
    ids = []
    for _ in range(3):
        ids.append(_start(client))
        services.clock.advance(ms=10)  # type: ignore[attr-defined]
    found = client.get("/executions", params={"pipelineConfigIds": saved["id"], "limit": 2}).json()
    assert [e["id"] for e in found] == [ids[2], ids[1]]
    by_id = client.get("/executions", params={"executionIds": f"{ids[0]},nope"}).json()
    assert [e["id"] for e in by_id] == [ids[0]]
    assert client.get("/executions").status_code == 400


def test_search(client: SyncClient, services: Services) -> None:
    create_application(client)
    save_pipeline(client)
    save_pipeline(client, name="other")
    a = _start(client, type="webhook")
    services.clock.advance(ms=10)  # type: ignore[attr-defined]
    b = _start(client, "other")
    hits = client.get("/applications/shop/executions/search", params={"triggerTypes": "webhook"}).json()
    assert [e["id"] for e in hits] == [a]
    named = client.get("/applications/shop/executions/search", params={"pipelineName": "OTHER"}).json()
    assert [e["id"] for e in named] == [b]
    page = client.get("/applications/shop/executions/search", params={"size": 1, "startIndex": 1}).json()
    assert [e["id"] for e in page] == [a]


def test_execution_json_is_exactly_the_models(client: SyncClient, services: Services) -> None:
    """The API splices stored texts for speed; the result must be Execution.to_json()."""
    create_application(client)
    save_pipeline(
        client, stages=[{"refId": "1", "type": "noop", "k": {"n": [1, 2]}}, {"refId": "2", "type": "noop"}]
    )
    execution_id = _start(client, parameters={"p": "q"})
    run_until_idle(services)
    with services.db.read() as conn:
        expected = services.executions.load(conn, execution_id).to_json()
    assert client.get(f"/pipelines/{execution_id}").json() == expected
    listed = client.get("/applications/shop/pipelines", params={"expand": "true"}).json()
    assert listed == [expected]
    stripped = client.get("/executions", params={"executionIds": execution_id}).json()[0]
    assert stripped["stages"][0]["context"] == {} and stripped["trigger"] == expected["trigger"]
