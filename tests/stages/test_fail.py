"""``fail``: its message lands in exception.details.errors; its status follows the failure options."""

from __future__ import annotations

import pytest

from gennaker.model.status import ExecutionStatus as S
from tests.stages.conftest import Harness


def fail(ref: str, *requisites: str, **context: object) -> dict[str, object]:
    return {
        "refId": ref,
        "requisiteStageRefIds": list(requisites),
        "type": "fail",
        "name": "stop here",
        **context,
    }


def wait(ref: str, *requisites: str, seconds: int = 5) -> dict[str, object]:
    return {"refId": ref, "requisiteStageRefIds": list(requisites), "type": "wait", "waitTime": seconds}


def test_fail_halts_the_pipeline_with_its_message(harness: Harness) -> None:
    execution = harness.start([fail("1", message="the release is frozen"), wait("2", "1")])
    harness.run()
    done = harness.get(execution.id)
    stage = done.stage_by_ref_id("1")
    assert done.status == S.TERMINAL
    assert stage.status == S.TERMINAL
    assert stage.context["exception"]["details"]["errors"] == ["the release is frozen"]
    assert stage.context["exception"]["exceptionType"] == "FailStage"
    assert done.stage_by_ref_id("2").status == S.NOT_STARTED


def test_fail_without_message_names_the_stage(harness: Harness) -> None:
    execution = harness.start([fail("1")])
    harness.run()
    errors = harness.stage(execution.id, "1").context["exception"]["details"]["errors"]
    assert errors == ["Stage 'stop here' failed the pipeline (fail stage without a message)"]


@pytest.mark.parametrize(
    ("options", "stage_status", "pipeline_status", "downstream"),
    [
        ({}, S.TERMINAL, S.TERMINAL, S.NOT_STARTED),
        ({"failPipeline": False}, S.STOPPED, S.SUCCEEDED, S.NOT_STARTED),
        (
            {"failPipeline": False, "completeOtherBranchesThenFail": True},
            S.STOPPED,
            S.TERMINAL,
            S.NOT_STARTED,
        ),
        ({"failPipeline": False, "continuePipeline": True}, S.FAILED_CONTINUE, S.SUCCEEDED, S.SUCCEEDED),
    ],
    ids=["halt-pipeline", "halt-branch", "fail-after-other-branches", "ignore"],
)
def test_fail_follows_the_failure_options(
    harness: Harness, options: dict[str, object], stage_status: S, pipeline_status: S, downstream: S
) -> None:
    execution = harness.start([fail("1", message="no", **options), wait("2", "1"), wait("3", seconds=30)])
    harness.run()
    done = harness.get(execution.id)
    assert done.stage_by_ref_id("1").status == stage_status
    assert done.stage_by_ref_id("2").status == downstream
    assert done.status == pipeline_status
    if pipeline_status != S.TERMINAL or options:
        # the other branch ran to its end (it is only canceled when the pipeline halts at once)
        assert done.stage_by_ref_id("3").status == S.SUCCEEDED
