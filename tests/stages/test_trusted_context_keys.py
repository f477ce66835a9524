"""Stage context keys that drive side effects are not taken on the say-so of whoever can write the
context (issue #10, item 6): ``PATCH /pipelines/{id}/stages/{stageId}`` may change only what Deck
sends (judgment, skipRemainingWait, manualSkip); a local job's process group comes only from what
its launcher recorded; a child pipeline is read or canceled only if this stage started it. Real
processes (a victim process group that must survive) and real executions."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gennaker.errors import InvalidInput
from gennaker.model.status import ExecutionStatus as S
from gennaker.stages.run_job_process import group_alive
from tests.stages.conftest import Harness
from tests.stages.test_pipeline_stage import child_config, pipeline


@pytest.fixture
def victim() -> Iterator[int]:
    """An unrelated process group (as another user's job or a system service would be)."""
    process = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def gone(pgid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def running_job(harness: Harness, tmp_path: Path) -> tuple[str, str, int]:
    started = tmp_path / "started"
    code = f"import pathlib, time; pathlib.Path({str(started)!r}).write_text('x'); time.sleep(60)"
    execution = harness.start(
        [{"refId": "1", "type": "runJob", "cloudProvider": "local", "command": [sys.executable, "-c", code]}]
    )
    harness.run_until(started.exists)
    stage = harness.stage(execution.id, "1")
    return execution.id, stage.id, int(stage.context["localJob"]["pgid"])


def test_patch_cannot_set_the_process_group_cancel_signals(
    harness: Harness, tmp_path: Path, victim: int
) -> None:
    """Item 6 as reported: PATCH ``localJob.pgid`` to another group, then cancel: that group was
    killed and the real job kept running."""
    execution_id, stage_id, job_pgid = running_job(harness, tmp_path)
    before = harness.get(execution_id).to_json()
    with pytest.raises(InvalidInput) as refused:
        harness.services.operations.patch_stage(
            execution_id, stage_id, {"localJob": {"pgid": victim, "dir": "/etc"}}, user="mallory"
        )
    assert "$.localJob" in refused.value.message and "judgmentStatus" in refused.value.message
    assert harness.get(execution_id).to_json() == before  # nothing changed
    harness.services.operations.cancel(execution_id, user="ops")
    harness.run(advance_clock=False)
    assert harness.stage(execution_id, "1").status == S.CANCELED
    assert gone(job_pgid)
    assert group_alive(victim)


@pytest.mark.parametrize("when", ["cancel", "timeout"])
def test_the_group_signalled_is_the_one_the_launcher_recorded(
    harness: Harness, tmp_path: Path, victim: int, when: str
) -> None:
    """Item 6: even with a forged ``localJob`` in the stored context (pipeline JSON can carry any
    key), cancel and the stage timeout signal the job's own group, never the one named there."""
    execution_id, _, job_pgid = running_job(harness, tmp_path)
    with harness.services.db.transaction() as conn:
        execution = harness.services.executions.load(conn, execution_id, for_update=True)
        stage = execution.stage_by_ref_id("1")
        assert stage is not None
        stage.context["localJob"] = {**stage.context["localJob"], "pgid": victim, "dir": str(tmp_path)}
        if when == "timeout":
            stage.context["stageTimeoutMs"] = 1_000
        harness.services.executions.save(conn, execution)
    if when == "cancel":
        harness.services.operations.cancel(execution_id, user="ops")
        harness.run(advance_clock=False)
    else:
        harness.clock.advance(ms=5_000)
        harness.run()
    assert harness.stage(execution_id, "1").status in (S.CANCELED, S.TERMINAL)
    assert gone(job_pgid)
    assert group_alive(victim)
    os.killpg(victim, 0)  # still there, still signalable by its owner


def test_patch_keeps_what_deck_sends(harness: Harness) -> None:
    """Item 6: the keys Deck sends still work (judgment with its input)."""
    execution = harness.start(
        [{"refId": "1", "type": "manualJudgment", "judgmentInputs": [{"value": "ship"}]}]
    )
    harness.run(advance_clock=False)
    stage = harness.stage(execution.id, "1")
    harness.services.operations.patch_stage(
        execution.id,
        stage.id,
        {"judgmentStatus": "continue", "judgmentInput": "ship", "lastModifiedBy": "ana"},
    )
    harness.run(advance_clock=False)
    done = harness.get(execution.id)
    assert done.status == S.SUCCEEDED
    assert done.stages[0].context["judgmentInput"] == "ship"


def forge_child(harness: Harness, parent_id: str, other_id: str) -> None:
    with harness.services.db.transaction() as conn:
        parent = harness.services.executions.load(conn, parent_id, for_update=True)
        parent.stages[0].context["executionId"] = other_id
        harness.services.executions.save(conn, parent)


def test_a_child_execution_is_canceled_only_if_this_stage_started_it(harness: Harness) -> None:
    """Item 6: the pipeline stage's ``executionId`` (writable through pipeline JSON) named another
    application's execution: cancelling the parent canceled that execution."""
    harness.save_pipeline(child_config([{"refId": "1", "type": "wait", "waitTime": 3600}]))
    other = harness.start(
        [{"refId": "1", "type": "wait", "waitTime": 3600}], application="payroll", id="cfg-9"
    )
    parent = harness.start([pipeline()])
    harness.run(advance_clock=False)
    child_id = harness.stage(parent.id, "1").context["executionId"]
    forge_child(harness, parent.id, other.id)
    harness.services.operations.cancel(parent.id, user="ops")
    harness.run(advance_clock=False)
    assert harness.get(parent.id).status == S.CANCELED
    assert harness.get(other.id).status == S.RUNNING and not harness.get(other.id).canceled
    assert harness.get(child_id).status == S.RUNNING  # the forged id hid it; it runs on


def test_a_child_execution_is_read_only_if_this_stage_started_it(harness: Harness) -> None:
    """Item 6: the monitor took over the outputs of whatever execution ``executionId`` named."""
    harness.save_pipeline(child_config([{"refId": "1", "type": "wait", "waitTime": 3600}]))
    other: Any = harness.start(
        [
            {
                "refId": "1",
                "type": "evaluateVariables",
                "variables": [{"key": "secret", "value": "payroll-db"}],
            }
        ],
        application="payroll",
        id="cfg-9",
    )
    harness.run(advance_clock=False)
    assert harness.get(other.id).status == S.SUCCEEDED
    parent = harness.start([pipeline()])
    harness.run(advance_clock=False)
    forge_child(harness, parent.id, other.id)
    harness.clock.advance(ms=20_000)
    harness.run(advance_clock=False)
    stage = harness.stage(parent.id, "1")
    assert stage.status == S.TERMINAL
    assert "secret" not in stage.outputs
    assert stage.context["exception"]["details"]["errors"] == [
        f"Execution {other.id} was not started by this stage"
    ]
