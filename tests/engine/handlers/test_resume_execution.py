"""ResumeExecution: resume each paused top-level stage (the API already set the execution RUNNING)."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import resume_execution
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import msg, pipeline, push, stage
from tests.engine.handlers.conftest import Engine


def test_resumes_each_paused_top_level_stage(engine: Engine) -> None:
    top = stage("1", "parent", S.PAUSED)
    execution = engine.store(
        pipeline(
            stage("1<1", status=S.PAUSED, parent=top),
            top,
            stage("2", status=S.RUNNING),
            stage("3", status=S.PAUSED),
            stage("4", status=S.SUCCEEDED),
        )
    )
    ctx = engine.handle(resume_execution.handle, msg(m.ResumeExecution, execution))
    assert ctx.pushes == [push(m.ResumeStage, execution, "s1"), push(m.ResumeStage, execution, "s3")]
    assert ctx.events == []
    assert [s.status for s in engine.load(execution.id).stages][:2] == [S.PAUSED, S.PAUSED]


def test_an_execution_still_paused_is_left_alone(engine: Engine) -> None:
    """Only the API's resume (execution RUNNING again) may resume its stages."""
    for status in (S.PAUSED, S.CANCELED, S.NOT_STARTED):
        execution = engine.store(pipeline(stage("1", status=S.PAUSED), id=f"ex-{status}", status=status))
        assert engine.handle(resume_execution.handle, msg(m.ResumeExecution, execution)).pushes == [], status


def test_an_execution_that_no_longer_exists_is_ignored(engine: Engine) -> None:
    assert engine.handle(resume_execution.handle, msg(m.ResumeExecution, pipeline(id="gone"))).pushes == []
