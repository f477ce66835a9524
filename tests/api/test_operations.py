"""Operator actions through the API: state changes when allowed, 4xx and nothing changed when not."""

from __future__ import annotations

from typing import Any

import pytest

from gennaker.api.routes import stage_extras
from gennaker.services import Services
from gennaker.testing import run_until_idle
from tests.api.conftest import create_application, save_pipeline
from tests.api.live import SyncClient

SLOW = [{"refId": "1", "type": "scripted", "name": "Slow", "polls": 1000}]


def _running(client: SyncClient, services: Services, stages: list[dict[str, Any]] = SLOW) -> str:
    create_application(client)
    save_pipeline(client, stages=stages)
    ref: str = client.post("/pipelines/shop/deploy", json={}).json()["ref"]
    execution_id = ref.removeprefix("/pipelines/")
    run_until_idle(services, advance_clock=False)
    assert client.get(ref).json()["status"] == "RUNNING"
    return execution_id


def test_cancel_records_the_user_and_reason(client: SyncClient, services: Services) -> None:
    execution_id = _running(client, services)
    response = client.put(f"/pipelines/{execution_id}/cancel", params={"reason": "not today"})
    assert response.status_code == 202
    run_until_idle(services, advance_clock=False)
    execution = client.get(f"/pipelines/{execution_id}").json()
    assert execution["status"] == "CANCELED"
    assert execution["canceledBy"] == "anonymous" and execution["cancellationReason"] == "not today"
    assert client.put("/pipelines/nope/cancel").status_code == 404


def test_pause_resume_and_conflicts(client: SyncClient, services: Services) -> None:
    execution_id = _running(client, services)
    assert client.put(f"/pipelines/{execution_id}/resume").status_code == 409
    assert client.put(f"/pipelines/{execution_id}/pause").status_code == 202
    assert client.get(f"/pipelines/{execution_id}").json()["status"] == "PAUSED"
    again = client.put(f"/pipelines/{execution_id}/pause")
    assert again.status_code == 409
    assert again.json()["message"].endswith("only RUNNING executions can be paused")
    assert client.put(f"/pipelines/{execution_id}/resume").status_code == 202
    assert client.get(f"/pipelines/{execution_id}").json()["status"] == "RUNNING"


def test_pausing_a_finished_execution_is_409_and_changes_nothing(
    client: SyncClient, services: Services
) -> None:
    create_application(client)
    save_pipeline(client)
    ref = client.post("/pipelines/shop/deploy", json={}).json()["ref"]
    run_until_idle(services)
    before = client.get(ref).json()
    response = client.put(f"{ref}/pause")
    assert response.status_code == 409
    assert client.get(ref).json() == before


def test_patch_stage_returns_the_execution_and_judgment_needs_a_judgment_stage(
    client: SyncClient, services: Services
) -> None:
    execution_id = _running(client, services)
    stage_id = client.get(f"/pipelines/{execution_id}").json()["stages"][0]["id"]
    judged = client.patch(f"/pipelines/{execution_id}/stages/{stage_id}", json={"judgmentStatus": "continue"})
    assert judged.status_code == 400
    assert "not a manualJudgment" in judged.json()["message"]
    refused = client.patch(f"/pipelines/{execution_id}/stages/{stage_id}", json={"note": "hi"})
    assert refused.status_code == 400 and "$.note" in refused.json()["message"]
    patched = client.patch(f"/pipelines/{execution_id}/stages/{stage_id}", json={"skipRemainingWait": True})
    assert patched.status_code == 200
    stage = patched.json()["stages"][0]
    assert "note" not in stage["context"]
    assert stage["context"]["skipRemainingWait"] is True and stage["lastModified"]["user"] == "anonymous"
    assert client.patch(f"/pipelines/{execution_id}/stages/nope", json={"a": 1}).status_code == 404
    assert client.patch(f"/pipelines/{execution_id}/stages/{stage_id}", json={}).status_code == 400


def test_restart_and_delete(client: SyncClient, services: Services) -> None:
    create_application(client)
    save_pipeline(client, stages=[{"refId": "1", "type": "scripted", "result": "TERMINAL"}])
    ref = client.post("/pipelines/shop/deploy", json={}).json()["ref"]
    execution_id = ref.removeprefix("/pipelines/")
    run_until_idle(services)
    execution = client.get(ref).json()
    assert execution["status"] == "TERMINAL"
    stage_id = execution["stages"][0]["id"]
    restarted = client.put(f"/pipelines/{execution_id}/stages/{stage_id}/restart", json={})
    assert restarted.status_code == 202 and restarted.json()["id"] == execution_id
    run_until_idle(services)
    assert client.get(ref).json()["stages"][0]["context"]["restartDetails"]["restartedBy"] == "anonymous"
    assert client.delete(ref).status_code == 204
    assert client.get(ref).status_code == 404


def test_deleting_a_running_execution_is_409(client: SyncClient, services: Services) -> None:
    execution_id = _running(client, services)
    response = client.delete(f"/pipelines/{execution_id}")
    assert response.status_code == 409
    assert client.get(f"/pipelines/{execution_id}").json()["status"] == "RUNNING"


def test_orchestration_tasks(client: SyncClient, services: Services) -> None:
    ref = client.post(
        "/applications/shop/tasks",
        json={"description": "ad hoc", "job": [{"type": "noop"}, {"type": "noop"}]},
    ).json()["ref"]
    run_until_idle(services)
    task = client.get(ref).json()
    assert task["status"] == "SUCCEEDED" and task["application"] == "shop" and task["name"] == "ad hoc"
    assert len(task["steps"]) == 2
    assert client.put(f"{ref}/cancel").status_code == 202
    assert client.delete(ref).status_code == 204
    assert client.get(ref).status_code == 404
    unknown = client.post("/tasks", json={"application": "shop", "job": [{"type": "nope"}]})
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["path"] == "$.job[0].type"
    mixed = client.post(
        "/tasks", json={"application": "shop", "job": [{"type": "noop"}, {"type": "deleteApplication"}]}
    )
    assert mixed.status_code == 400


def test_logs_and_preconfigured_webhooks_without_their_modules(
    client: SyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stage_extras, "_optional", lambda name: None)
    logs = client.get("/pipelines/x/stages/y/logs")
    assert logs.status_code == 404 and logs.json()["message"] == "no logs for this stage"
    assert client.get("/webhooks/preconfigured").json() == []


def test_logs_of_an_unknown_stage_are_a_4xx_whoever_provides_them(client: SyncClient) -> None:
    response = client.get("/pipelines/x/stages/y/logs", params={"offset": 0})
    assert 400 <= response.status_code < 500
    assert isinstance(client.get("/webhooks/preconfigured").json(), list)


def test_a_job_type_that_is_not_a_string_is_400(client: SyncClient) -> None:
    """Found by schemathesis: a list as the job type was a 500."""
    response = client.post("/tasks", json={"application": "shop", "job": [{"type": ["createApplication"]}]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "$.job[0].type"
