"""Execution, stage, task and trigger JSON carry every field Deck reads without a guard, with
Orca's empty values, and an application's tasks list in Orca's task shape."""

from __future__ import annotations

from typing import Any

from gennaker.clock import FrozenClock
from gennaker.services import Services
from gennaker.testing import run_until_idle
from tests.api.conftest import create_application, save_pipeline
from tests.api.live import SyncClient

#: Orca's Trigger (orca-api Trigger.java, DefaultTrigger.kt) always serialises these.
TRIGGER_KEYS = {
    "type": str,
    "user": str,
    "parameters": dict,
    "artifacts": list,
    "notifications": list,
    "resolvedExpectedArtifacts": list,
    "expectedArtifacts": list,
    "rebake": bool,
    "dryRun": bool,
    "strategy": bool,
}


def _check_trigger(trigger: dict[str, Any]) -> None:
    for key, kind in TRIGGER_KEYS.items():
        assert isinstance(trigger.get(key), kind), f"trigger.{key} is {trigger.get(key)!r}"


def _check_execution(execution: dict[str, Any]) -> None:
    """The fields ExecutionsTransformer.ts (transformExecution, processStageSummaries, addBuildInfo),
    Execution.tsx and ExecutionGroup.tsx read: ``stages`` with each ``requisiteStageRefIds``,
    ``context``, ``tasks``; ``trigger``; ``authentication.user``; ``buildTime``; ``status``."""
    for key in ("id", "application", "status", "buildTime", "stages", "trigger", "authentication"):
        assert key in execution, key
    assert isinstance(execution["authentication"]["user"], str)
    _check_trigger(execution["trigger"])
    for stage in execution["stages"]:
        for key, kind in (
            ("id", str),
            ("type", str),
            ("name", str),
            ("status", str),
            ("context", dict),
            ("outputs", dict),
            ("tasks", list),
            ("requisiteStageRefIds", list),
        ):
            assert isinstance(stage.get(key), kind), f"stage.{key}"
        for task in stage["tasks"]:
            for key in ("id", "name", "status", "implementingClass", "stageStart", "stageEnd"):
                assert key in task, f"task.{key}"


def test_pipeline_without_expected_artifacts_has_every_trigger_key(
    client: SyncClient, services: Services
) -> None:
    """Deck's packages/core/src/pipeline/status/ParametersAndArtifacts.tsx reads
    ``execution.trigger.resolvedExpectedArtifacts.length`` without a guard: the whole Pipelines tab
    crashed for a pipeline without ``expectedArtifacts``."""
    create_application(client)
    save_pipeline(client, parameterConfig=[{"name": "env", "default": "dev"}])
    response = client.post("/pipelines/shop/deploy", json={"type": "manual", "user": "alice"})
    assert response.status_code == 202, response.text
    run_until_idle(services)
    executions = client.get("/applications/shop/pipelines", params={"expand": "false"}).json()
    assert len(executions) == 1
    _check_execution(executions[0])
    trigger = executions[0]["trigger"]
    assert trigger["resolvedExpectedArtifacts"] == [] and trigger["artifacts"] == []
    assert trigger["parameters"] == {"env": "dev"} and trigger["user"] == "alice"
    assert trigger["dryRun"] is False and trigger["rebake"] is False and trigger["strategy"] is False


def test_supplied_trigger_values_are_kept(client: SyncClient, services: Services) -> None:
    create_application(client)
    save_pipeline(client)
    body = {"type": "manual", "dryRun": True, "notifications": [{"type": "email", "address": "a@b"}]}
    execution_id = client.post("/pipelines/shop/deploy", json=body).json()["ref"].split("/")[-1]
    trigger = client.get(f"/pipelines/{execution_id}").json()["trigger"]
    _check_trigger(trigger)
    assert trigger["dryRun"] is True and trigger["notifications"] == body["notifications"]


def test_application_tasks_in_orcas_task_shape(client: SyncClient, services: Services) -> None:
    """Deck's packages/core/src/task/task.read.service.ts (TaskReader.getTasks) lists
    ``GET /applications/{app}/tasks?statuses=&limit=&page=`` and calls ``task.getValueFor`` (the
    ``variables`` list) and reads ``task.steps`` and ``task.execution`` on each."""
    create_application(client)
    clock = services.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(seconds=1)
    ran = client.post(
        "/applications/shop/tasks",
        json={"description": "Run noop", "job": [{"type": "noop", "user": "bob"}]},
    )
    assert ran.status_code == 200, ran.text
    run_until_idle(services)
    tasks = client.get("/applications/shop/tasks").json()
    # Newest first: the noop task, then the createApplication task.
    assert [t["name"] for t in tasks] == ["Run noop", "create"]
    task = tasks[0]
    assert task["application"] == "shop" and task["status"] == "SUCCEEDED"
    assert {"key": "user", "value": "bob"} in task["variables"]
    assert task["steps"] and all("status" in step for step in task["steps"])
    _check_execution(task["execution"])
    assert task["execution"]["type"] == "ORCHESTRATION"
    running = client.get("/applications/shop/tasks", params={"statuses": "RUNNING,SUSPENDED,NOT_STARTED"})
    assert running.json() == []
    page_two = client.get("/applications/shop/tasks", params={"limit": 1, "page": 2}).json()
    assert [t["name"] for t in page_two] == ["create"]
    assert client.get("/applications/other/tasks").json() == []
    bad = client.get("/applications/shop/tasks", params={"statuses": "DONE"})
    assert bad.status_code == 400 and "DONE" in bad.text
