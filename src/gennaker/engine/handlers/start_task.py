"""StartTask: mark the task RUNNING and run it."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers._common import S, with_stage
from gennaker.engine.runtime import HandlerContext


def handle(ctx: HandlerContext, message: m.StartTask) -> None:
    """Start a NOT_STARTED task."""
    found = with_stage(ctx, message)
    if found is None:
        return
    execution, stage = found
    task = stage.task(message.task_id)
    if task is None or task.status != S.NOT_STARTED:
        return
    task.status = S.RUNNING
    task.start_time = ctx.now_ms
    ctx.save(execution, stage)
    ctx.push(m.RunTask(execution.type, execution.id, execution.application, stage.id, task.id))
