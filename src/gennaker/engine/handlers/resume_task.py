"""ResumeTask: a paused task runs again."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers._common import S, with_stage
from gennaker.engine.runtime import HandlerContext


def handle(ctx: HandlerContext, message: m.ResumeTask) -> None:
    """Mark the task RUNNING and run it."""
    found = with_stage(ctx, message)
    if found is None:
        return
    execution, stage = found
    task = stage.task(message.task_id)
    if task is None or task.status != S.PAUSED:
        return
    task.status = S.RUNNING
    ctx.save(execution)
    ctx.push(m.RunTask(execution.type, execution.id, execution.application, stage.id, task.id))
