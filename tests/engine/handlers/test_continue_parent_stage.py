"""ContinueParentStage (ContinueParentStageHandler): a phase of synthetic children ended."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import continue_parent_stage
from gennaker.engine.runtime import HandlerContext
from gennaker.model.execution import STAGE_AFTER, STAGE_BEFORE, Execution
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import msg, pipeline, push, stage, task
from tests.engine.handlers.conftest import Engine


def _family(*children: tuple[str, S, str], parent_status: S = S.RUNNING, tasks: int = 2) -> Execution:
    parent = stage(
        "1",
        "parent",
        parent_status,
        tasks=[task(str(i + 1), S.NOT_STARTED) for i in range(tasks)],
    )
    kids = [stage(ref, status=status, parent=parent, owner=owner) for ref, status, owner in children]
    return pipeline(*kids, parent)


def _continue(engine: Engine, phase: str = STAGE_BEFORE) -> HandlerContext:
    return engine.handle(
        continue_parent_stage.handle, msg(m.ContinueParentStage, engine.load("ex1"), "s1", phase=phase)
    )


def test_before_stages_done_start_the_first_task(engine: Engine) -> None:
    execution = engine.store(_family(("1<1", S.SUCCEEDED, STAGE_BEFORE), ("1<2", S.SKIPPED, STAGE_BEFORE)))
    ctx = _continue(engine)
    assert ctx.pushes == [push(m.StartTask, execution, "s1", "1")]
    assert ctx.events == []


def test_a_failed_continue_before_stage_counts_as_done(engine: Engine) -> None:
    execution = engine.store(_family(("1<1", S.FAILED_CONTINUE, STAGE_BEFORE)))
    assert _continue(engine).pushes == [push(m.StartTask, execution, "s1", "1")]


def test_before_stages_still_running_wait_for_the_last_one(engine: Engine) -> None:
    engine.store(_family(("1<1", S.SUCCEEDED, STAGE_BEFORE), ("1<2", S.RUNNING, STAGE_BEFORE)))
    ctx = _continue(engine)
    assert ctx.pushes == [] and ctx.events == []


def test_a_failed_before_stage_completes_the_parent(engine: Engine) -> None:
    execution = engine.store(_family(("1<1", S.SUCCEEDED, STAGE_BEFORE), ("1<2", S.TERMINAL, STAGE_BEFORE)))
    assert _continue(engine).pushes == [push(m.CompleteStage, execution, "s1")]


def test_before_stages_done_and_no_task_completes_the_parent(engine: Engine) -> None:
    execution = engine.store(_family(("1<1", S.SUCCEEDED, STAGE_BEFORE), tasks=0))
    assert _continue(engine).pushes == [push(m.CompleteStage, execution, "s1")]


def test_the_first_task_not_yet_started_is_the_one_to_start(engine: Engine) -> None:
    execution = engine.store(_family(("1<1", S.SUCCEEDED, STAGE_BEFORE)))
    engine.change(execution.id, lambda e: setattr(e.stage("s1").tasks[0], "status", S.SUCCEEDED))
    assert _continue(engine).pushes == [push(m.StartTask, execution, "s1", "2")]


def test_after_stages_done_complete_the_parent(engine: Engine) -> None:
    execution = engine.store(
        _family(
            ("1<1", S.SUCCEEDED, STAGE_BEFORE),
            ("1>1", S.SUCCEEDED, STAGE_AFTER),
            ("1>2", S.SKIPPED, STAGE_AFTER),
        )
    )
    assert _continue(engine, STAGE_AFTER).pushes == [push(m.CompleteStage, execution, "s1")]


def test_after_stages_still_running_wait(engine: Engine) -> None:
    engine.store(_family(("1>1", S.SUCCEEDED, STAGE_AFTER), ("1>2", S.NOT_STARTED, STAGE_AFTER)))
    assert _continue(engine, STAGE_AFTER).pushes == []


def test_a_parent_that_is_not_running_is_left_alone(engine: Engine) -> None:
    for status in (S.PAUSED, S.TERMINAL, S.NOT_STARTED):
        execution = engine.store(
            pipeline(
                *_family(("1<1", S.SUCCEEDED, STAGE_BEFORE), parent_status=status).stages, id=f"ex-{status}"
            )
        )
        message = msg(m.ContinueParentStage, execution, f"ex-{status}.s1", phase=STAGE_BEFORE)
        assert engine.handle(continue_parent_stage.handle, message).pushes == [], status
