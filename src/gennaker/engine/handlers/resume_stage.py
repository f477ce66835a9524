"""ResumeStage: a paused stage runs again, with its paused tasks and children."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers._common import S, stage_message, with_stage
from gennaker.engine.runtime import HandlerContext


def handle(ctx: HandlerContext, message: m.ResumeStage) -> None:
    """Mark the stage RUNNING and resume what was paused inside it."""
    found = with_stage(ctx, message)
    if found is None:
        return
    execution, stage = found
    if stage.status != S.PAUSED:
        return
    stage.status = S.RUNNING
    ctx.save(execution)
    ctx.stage_event(execution, stage, "stage.resumed")
    for task in stage.tasks:
        if task.status == S.PAUSED:
            ctx.push(m.ResumeTask(execution.type, execution.id, execution.application, stage.id, task.id))
    for child in execution.children(stage):
        if child.status == S.PAUSED:
            ctx.push(stage_message(execution, child, m.ResumeStage))
