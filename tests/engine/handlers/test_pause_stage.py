"""PauseStage: the stage, then each running parent up to the top, become PAUSED."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import pause_stage
from gennaker.engine.runtime import HandlerContext
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import msg, pipeline, stage
from tests.engine.handlers.conftest import Engine


def _pause(engine: Engine, stage_id: str) -> HandlerContext:
    return engine.handle(pause_stage.handle, msg(m.PauseStage, engine.load("ex1"), stage_id))


def test_pauses_the_stage_and_its_parents(engine: Engine) -> None:
    top = stage("1", "parent", S.RUNNING)
    middle = stage("1<1", "parent", S.RUNNING, parent=top)
    leaf = stage("1<1<1", status=S.RUNNING, parent=middle)
    engine.store(pipeline(leaf, middle, top, stage("2", status=S.RUNNING)))
    ctx = _pause(engine, "s1<1<1")
    assert ctx.pushes == []
    assert [(e.type, e.body["refId"], e.body["status"]) for e in ctx.events] == [
        ("stage.paused", "1<1<1", "PAUSED"),
        ("stage.paused", "1<1", "PAUSED"),
        ("stage.paused", "1", "PAUSED"),
    ]
    stored = engine.load("ex1")
    assert [s.status for s in stored.stages] == [S.PAUSED, S.PAUSED, S.PAUSED, S.RUNNING]


def test_stops_at_a_parent_that_is_not_running(engine: Engine) -> None:
    top = stage("1", "parent", S.PAUSED)
    leaf = stage("1<1", status=S.RUNNING, parent=top)
    engine.store(pipeline(leaf, top))
    ctx = _pause(engine, "s1<1")
    assert [e.body["refId"] for e in ctx.events] == ["1<1"]
    assert [s.status for s in engine.load("ex1").stages] == [S.PAUSED, S.PAUSED]


def test_a_stage_that_is_not_running_is_left_alone(engine: Engine) -> None:
    for status in (S.SUCCEEDED, S.NOT_STARTED, S.PAUSED):
        execution = engine.store(pipeline(stage("1", status=status), id=f"ex-{status}"))
        ctx = engine.handle(pause_stage.handle, msg(m.PauseStage, execution, f"ex-{status}.s1"))
        assert ctx.pushes == [] and ctx.events == [], status
        assert engine.load(execution.id).stages[0].status == status
