"""``pipeline``: a parent starts a stored child pipeline, waits for it, takes over its outcome and
outputs, and cancels it when the parent stage is canceled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gennaker.engine.contracts import TaskRun
from gennaker.model.status import ExecutionStatus as S
from gennaker.stages.pipeline_stage import StartPipelineTask
from tests.stages.conftest import Harness


def child_config(stages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "id": "child-1",
        "application": "app",
        "name": "child",
        "parameterConfig": [{"name": "size", "default": "small"}, {"name": "color", "default": "red"}],
        "stages": stages,
        **extra,
    }


PUBLISH = {"refId": "1", "type": "evaluateVariables", "variables": [{"key": "image", "value": "app:v7"}]}


def pipeline(ref: str = "1", **context: Any) -> dict[str, Any]:
    return {
        "refId": ref,
        "type": "pipeline",
        "name": "Run child",
        "application": "app",
        "pipeline": "child-1",
        **context,
    }


def child_of(harness: Harness, parent_id: str) -> Any:
    stage = harness.stage(parent_id, "1")
    return harness.get(stage.context["executionId"])


def test_parent_waits_and_takes_over_outputs(harness: Harness) -> None:
    harness.save_pipeline(child_config([PUBLISH]))
    parent = harness.start(
        [
            pipeline(pipelineParameters={"size": "large"}),
            {"refId": "2", "requisiteStageRefIds": ["1"], "type": "wait", "waitTime": 1},
        ]
    )
    harness.run()
    done = harness.get(parent.id)
    stage = done.stage_by_ref_id("1")
    assert done.status == S.SUCCEEDED
    assert stage is not None and stage.outputs == {"image": "app:v7"}
    child = child_of(harness, parent.id)
    assert child.status == S.SUCCEEDED
    assert stage.context["executionName"] == "child" and stage.context["status"] == "SUCCEEDED"
    trigger = child.trigger
    assert trigger["type"] == "pipeline"
    assert trigger["parentExecution"]["id"] == parent.id
    assert trigger["parentPipelineId"] == parent.id
    assert trigger["parentPipelineStageId"] == stage.id
    assert trigger["parentPipelineName"] == "pipe" and trigger["parentPipelineApplication"] == "app"
    assert trigger["parameters"] == {"size": "large", "color": "red"}
    assert trigger["correlationId"] == f"{parent.id}_{stage.id}_child-1_{done.start_time}"


def test_skip_downstream_output(harness: Harness) -> None:
    harness.save_pipeline(child_config([PUBLISH]))
    parent = harness.start([pipeline(skipDownstreamOutput=True)])
    harness.run()
    assert harness.get(parent.id).status == S.SUCCEEDED
    assert harness.stage(parent.id, "1").outputs == {}


def test_failed_child_fails_the_stage_with_its_errors(harness: Harness) -> None:
    harness.save_pipeline(child_config([{"refId": "1", "type": "fail", "message": "tests are red"}]))
    parent = harness.start([pipeline()])
    harness.run()
    stage = harness.stage(parent.id, "1")
    assert stage.status == S.TERMINAL
    assert stage.context["exception"]["details"]["errors"] == ["tests are red"]
    assert stage.context["exception"]["source"]["stageName"] == "fail"
    assert stage.context["status"] == "TERMINAL"
    assert harness.get(parent.id).status == S.TERMINAL


def test_canceling_the_parent_cancels_the_child(harness: Harness) -> None:
    harness.save_pipeline(child_config([{"refId": "1", "type": "wait", "waitTime": 3600}]))
    parent = harness.start([pipeline()])
    harness.run(advance_clock=False)
    child = child_of(harness, parent.id)
    assert child.status == S.RUNNING
    harness.services.operations.cancel(parent.id, user="dora", reason="wrong branch")
    harness.run(advance_clock=False)
    stage = harness.stage(parent.id, "1")
    assert harness.get(parent.id).status == S.CANCELED
    assert stage.status == S.CANCELED
    assert stage.context["cancelResults"]["status"] == "done"
    child = harness.get(child.id)
    assert child.status == S.CANCELED and child.canceled_by == "dora"


def test_canceled_child_cancels_the_stage(harness: Harness) -> None:
    harness.save_pipeline(child_config([{"refId": "1", "type": "wait", "waitTime": 3600}]))
    parent = harness.start([pipeline()])
    harness.run(advance_clock=False)
    harness.services.operations.cancel(child_of(harness, parent.id).id, user="erin")
    harness.run()
    assert harness.stage(parent.id, "1").status == S.CANCELED
    assert harness.get(parent.id).status == S.CANCELED


def test_fire_and_forget(harness: Harness) -> None:
    harness.save_pipeline(child_config([{"refId": "1", "type": "wait", "waitTime": 3600}]))
    parent = harness.start([pipeline(waitForCompletion=False)])
    harness.run(advance_clock=False)
    assert harness.get(parent.id).status == S.SUCCEEDED
    assert child_of(harness, parent.id).status == S.RUNNING


@pytest.mark.parametrize(
    ("saved", "context", "message"),
    [
        (None, {}, "Pipeline child-1 does not exist (application app)"),
        ({"disabled": True}, {}, "Pipeline 'child' (child-1) of application app is disabled"),
        (
            {},
            {"application": "other"},
            "Pipeline child-1 does not exist in application other (it belongs to application app)",
        ),
    ],
    ids=["missing", "disabled", "other-application"],
)
def test_missing_or_disabled_child(
    harness: Harness, saved: dict[str, Any] | None, context: dict[str, Any], message: str
) -> None:
    if saved is not None:
        harness.save_pipeline(child_config([PUBLISH], **saved))
    parent = harness.start([pipeline(**context)])
    harness.run()
    stage = harness.stage(parent.id, "1")
    assert stage.status == S.TERMINAL
    assert stage.context["exception"]["details"]["errors"] == [message]


def test_skippable_stage_can_be_skipped_by_hand(harness: Harness) -> None:
    harness.save_pipeline(child_config([{"refId": "1", "type": "wait", "waitTime": 3600}]))
    parent = harness.start([pipeline(skippable=True)])
    harness.run(advance_clock=False)
    harness.services.operations.patch_stage(parent.id, harness.stage(parent.id, "1").id, {"manualSkip": True})
    harness.run(advance_clock=False)
    assert harness.stage(parent.id, "1").status == S.SKIPPED
    assert harness.get(parent.id).status == S.SUCCEEDED


def test_start_is_idempotent_when_the_task_runs_again(harness: Harness) -> None:
    """A crash between starting the child and recording it re-runs the task: same child."""
    harness.save_pipeline(child_config([{"refId": "1", "type": "wait", "waitTime": 3600}]))
    parent = harness.start([pipeline(waitForCompletion=False)])
    harness.run(advance_clock=False)
    execution = harness.get(parent.id)
    stage = execution.stages[0]
    run = TaskRun(execution, stage, stage.context, "1", stage.start_time or 0, harness.services)
    again = asyncio.run(StartPipelineTask().execute(run))
    assert again.status == S.SUCCEEDED
    assert again.context["executionId"] == stage.context["executionId"]


def test_restart_starts_a_new_child(harness: Harness) -> None:
    harness.save_pipeline(child_config([{"refId": "1", "type": "fail", "message": "red"}]))
    parent = harness.start([pipeline()])
    harness.run()
    stage = harness.stage(parent.id, "1")
    first_child = stage.context["executionId"]
    assert stage.status == S.TERMINAL
    harness.save_pipeline({**child_config([PUBLISH]), "id": "child-1"})
    harness.services.operations.restart_stage(parent.id, stage.id, user="fred")
    harness.run()
    again = harness.stage(parent.id, "1")
    assert again.status == S.SUCCEEDED
    assert again.context["executionId"] != first_child
    assert (
        harness.get(again.context["executionId"])
        .trigger["correlationId"]
        .startswith(f"{parent.id}_{stage.id}_child-1_")
    )
