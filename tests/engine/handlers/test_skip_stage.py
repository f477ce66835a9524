"""SkipStage (SkipStageHandler): a disabled, expired or manually skipped stage ends SKIPPED and the
graph goes on."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import skip_stage
from gennaker.engine.runtime import HandlerContext
from gennaker.model.execution import STAGE_AFTER, STAGE_BEFORE
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import NOW, msg, pipeline, push, stage, task
from tests.engine.handlers.conftest import Engine


def _skip(engine: Engine, stage_id: str = "s1") -> HandlerContext:
    return engine.handle(skip_stage.handle, msg(m.SkipStage, engine.load("ex1"), stage_id))


def test_a_stage_not_started_is_skipped_and_downstream_starts(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1"), stage("2", upstream=("1",)), stage("3", upstream=("1",))))
    ctx = _skip(engine)
    assert ctx.pushes == [push(m.StartStage, execution, "s2"), push(m.StartStage, execution, "s3")]
    assert [(e.type, e.body["status"]) for e in ctx.events] == [("stage.complete", "SKIPPED")]
    skipped = engine.load(execution.id).stages[0]
    assert skipped.status == S.SKIPPED
    assert skipped.end_time == NOW
    assert skipped.tasks == []


def test_the_last_stage_skipped_completes_the_execution(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", status=S.RUNNING)))
    assert _skip(engine).pushes == [push(m.CompleteExecution, execution)]
    assert engine.load(execution.id).stages[0].status == S.SKIPPED


def test_a_skipped_synthetic_stage_continues_its_parent(engine: Engine) -> None:
    parent = stage("1", "parent", S.RUNNING)
    execution = engine.store(pipeline(stage("1<1", parent=parent), parent))
    assert _skip(engine, "s1<1").pushes == [push(m.ContinueParentStage, execution, "s1", phase=STAGE_BEFORE)]


def test_a_finished_stage_is_not_skipped(engine: Engine) -> None:
    for status in (S.SUCCEEDED, S.TERMINAL, S.CANCELED, S.SKIPPED):
        execution = engine.store(pipeline(stage("1", status=status), id=f"ex-{status}"))
        ctx = engine.handle(skip_stage.handle, msg(m.SkipStage, execution, f"ex-{status}.s1"))
        assert ctx.pushes == [] and ctx.events == [], status
        assert engine.load(execution.id).stages[0].status == status


def test_manual_skip_skips_what_is_unfinished_inside_the_stage(engine: Engine) -> None:
    parent = stage(
        "1",
        "parent",
        S.RUNNING,
        tasks=[task("1", S.SUCCEEDED, end_time=NOW - 9), task("2", S.RUNNING), task("3")],
        manualSkip=True,
    )
    done_child = stage("1<1", status=S.SUCCEEDED, parent=parent, end_time=NOW - 8)
    running_child = stage("1>1", status=S.RUNNING, parent=parent, owner=STAGE_AFTER)
    execution = engine.store(pipeline(done_child, parent, running_child, stage("2", upstream=("1",))))
    ctx = _skip(engine)
    assert ctx.pushes == [push(m.StartStage, execution, "s2")]
    stored = engine.load(execution.id)
    skipped = stored.stage("s1")
    assert skipped is not None
    assert skipped.status == S.SKIPPED
    assert [(t.status, t.end_time) for t in skipped.tasks] == [
        (S.SUCCEEDED, NOW - 9),
        (S.SKIPPED, NOW),
        (S.SKIPPED, NOW),
    ]
    assert (stored.stage("s1<1").status, stored.stage("s1<1").end_time) == (S.SUCCEEDED, NOW - 8)
    assert stored.stage("s1>1").status == S.SKIPPED


def test_an_unknown_stage_ends_the_execution_terminal(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.RUNNING)))
    ctx = _skip(engine, "nope")
    assert [e.type for e in ctx.events] == ["pipeline.failed"]
    assert engine.load("ex1").status == S.TERMINAL
