"""AbortStage: a stage-level message died in the queue; the stage ends TERMINAL (Orca's dead-letter
path for stage-level messages)."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import abort_stage
from gennaker.engine.runtime import HandlerContext
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import NOW, msg, pipeline, push, stage, task
from tests.engine.handlers.conftest import Engine

REASON = "a message for this stage could not be delivered; the stage was aborted"


def _abort(engine: Engine, stage_id: str = "s1") -> HandlerContext:
    return engine.handle(abort_stage.handle, msg(m.AbortStage, engine.load("ex1"), stage_id))


def test_a_running_stage_ends_terminal_and_the_execution_is_told(engine: Engine) -> None:
    execution = engine.store(
        pipeline(
            stage(
                "1",
                status=S.RUNNING,
                tasks=[task("1", S.SUCCEEDED, end_time=NOW - 3), task("2", S.RUNNING), task("3")],
            ),
            stage("2", upstream=("1",)),
        )
    )
    ctx = _abort(engine)
    assert ctx.pushes == [push(m.CancelStage, execution, "s1"), push(m.CompleteExecution, execution)]
    assert [(e.type, e.body["status"], e.body["reason"]) for e in ctx.events] == [
        ("stage.failed", "TERMINAL", REASON)
    ]
    stored = engine.load(execution.id)
    aborted = stored.stages[0]
    assert aborted.status == S.TERMINAL
    assert aborted.end_time == NOW
    assert aborted.context["exception"] == {"details": {"error": REASON, "errors": [REASON]}}
    assert [(t.status, t.end_time) for t in aborted.tasks] == [
        (S.SUCCEEDED, NOW - 3),
        (S.TERMINAL, NOW),
        (S.TERMINAL, NOW),
    ]
    assert stored.stages[1].status == S.NOT_STARTED


def test_a_stage_that_never_started_is_aborted_too(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1")))
    assert _abort(engine).pushes == [
        push(m.CancelStage, execution, "s1"),
        push(m.CompleteExecution, execution),
    ]
    assert engine.load(execution.id).stages[0].status == S.TERMINAL


def test_a_synthetic_stage_completes_its_parent(engine: Engine) -> None:
    parent = stage("1", "parent", S.RUNNING)
    execution = engine.store(pipeline(stage("1<1", status=S.RUNNING, parent=parent), parent))
    assert _abort(engine, "s1<1").pushes == [
        push(m.CancelStage, execution, "s1<1"),
        push(m.CompleteStage, execution, "s1"),
    ]


def test_an_earlier_exception_is_kept(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.RUNNING, exception={"details": {"errors": ["first"]}})))
    _abort(engine)
    assert engine.load("ex1").stages[0].context["exception"] == {"details": {"errors": ["first"]}}


def test_a_finished_stage_is_left_alone(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.SUCCEEDED)))
    ctx = _abort(engine)
    assert ctx.pushes == [] and ctx.events == []
    assert engine.load("ex1").stages[0].status == S.SUCCEEDED


def test_an_unknown_stage_ends_the_execution_terminal(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.RUNNING)))
    _abort(engine, "missing")
    assert engine.load("ex1").extra["errors"] == ["message abortStage names unknown stage missing"]
