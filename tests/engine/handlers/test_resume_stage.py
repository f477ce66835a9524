"""ResumeStage: a paused stage runs again, with its paused tasks and synthetic children."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import resume_stage
from gennaker.model.execution import STAGE_AFTER
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import msg, pipeline, push, stage, task
from tests.engine.handlers.conftest import Engine


def test_resumes_the_stage_its_paused_tasks_and_children(engine: Engine) -> None:
    top = stage("1", "parent", S.PAUSED, tasks=[task("1", S.SUCCEEDED), task("2", S.PAUSED), task("3")])
    execution = engine.store(
        pipeline(
            stage("1<1", status=S.SUCCEEDED, parent=top),
            top,
            stage("1>1", status=S.PAUSED, parent=top, owner=STAGE_AFTER),
        )
    )
    ctx = engine.handle(resume_stage.handle, msg(m.ResumeStage, execution, "s1"))
    assert ctx.pushes == [push(m.ResumeTask, execution, "s1", "2"), push(m.ResumeStage, execution, "s1>1")]
    assert [(e.type, e.body["status"]) for e in ctx.events] == [("stage.resumed", "RUNNING")]
    stored = engine.load(execution.id)
    assert [s.status for s in stored.stages] == [S.SUCCEEDED, S.RUNNING, S.PAUSED]
    assert [t.status for t in stored.stage("s1").tasks] == [S.SUCCEEDED, S.PAUSED, S.NOT_STARTED]


def test_a_stage_that_is_not_paused_is_left_alone(engine: Engine) -> None:
    for status in (S.RUNNING, S.SUCCEEDED, S.CANCELED):
        execution = engine.store(
            pipeline(stage("1", status=status, tasks=[task("1", S.PAUSED)]), id=f"ex-{status}")
        )
        ctx = engine.handle(resume_stage.handle, msg(m.ResumeStage, execution, f"ex-{status}.s1"))
        assert ctx.pushes == [] and ctx.events == [], status
