"""CancelStage (CancelStageHandler): wake the stage's running tasks now, and call its type's cancel
hook (outside any transaction) once the stage has halted; what the hook did is recorded."""

from __future__ import annotations

from typing import Any

from gennaker.engine import messages as m
from gennaker.engine.runtime import HandlerContext
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import msg, pipeline, push, stage, task
from tests.engine.handlers.conftest import Engine


def _cancel(engine: Engine, stage_id: str = "s1") -> tuple[HandlerContext, HandlerContext | None, Any]:
    return engine.cancel_stage(msg(m.CancelStage, engine.load("ex1"), stage_id))


def test_running_tasks_are_made_to_poll_now(engine: Engine) -> None:
    execution = engine.store(
        pipeline(
            stage("1", status=S.RUNNING, tasks=[task("1", S.SUCCEEDED), task("2", S.RUNNING), task("3")])
        )
    )
    first, second, result = _cancel(engine)
    run = (m.RunTask, execution, "s1", "2")
    assert first.pushes == [push(*run, mode="ensure"), push(*run, mode="reschedule")]
    assert first.events == []
    assert second is None and result is None  # a RUNNING stage has not halted: no hook yet


def test_a_halted_cancellable_stage_calls_its_cancel_hook_and_records_it(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", "cancellable", S.CANCELED, tasks=[task("1", S.CANCELED)])))
    first, second, result = _cancel(engine)
    assert first.pushes == []
    assert result == {"status": "done", "cleanedUp": "1"}
    assert second.pushes == [] and second.events == []
    assert engine.load(execution.id).stages[0].context["cancelResults"] == {
        "status": "done",
        "cleanedUp": "1",
    }


def test_the_cancel_hook_runs_for_every_halt(engine: Engine) -> None:
    for status in (S.TERMINAL, S.STOPPED):
        execution = engine.store(pipeline(stage("1", "cancellable", status), id=f"ex-{status}"))
        _, _, result = engine.cancel_stage(msg(m.CancelStage, execution, f"ex-{status}.s1"))
        assert result == {"status": "done", "cleanedUp": "1"}, status


def test_the_cancel_hook_runs_once(engine: Engine) -> None:
    engine.store(pipeline(stage("1", "cancellable", S.CANCELED, cancelResults={"status": "done"})))
    _, second, result = _cancel(engine)
    assert second is None and result is None


def test_a_failing_cancel_hook_is_recorded_not_raised(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", "brokenCancel", S.TERMINAL)))
    _, _, result = _cancel(engine)
    assert result == {"status": "failed", "error": "cloud said no"}
    assert engine.load(execution.id).stages[0].context["cancelResults"] == result


def test_a_stage_type_without_a_cancel_hook_is_only_woken(engine: Engine) -> None:
    engine.store(pipeline(stage("1", "scripted", S.TERMINAL)))
    first, second, _ = _cancel(engine)
    assert first.pushes == [] and second is None
    assert "cancelResults" not in engine.load("ex1").stages[0].context


def test_a_stage_type_no_longer_registered_is_only_woken(engine: Engine) -> None:
    engine.store(pipeline(stage("1", "retiredType", S.TERMINAL)))
    _, second, _ = _cancel(engine)
    assert second is None


def test_an_unknown_stage_ends_the_execution_terminal(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.RUNNING)))
    first, _, _ = _cancel(engine, "gone")
    assert [e.type for e in first.events] == ["pipeline.failed"]
    assert engine.load("ex1").status == S.TERMINAL
