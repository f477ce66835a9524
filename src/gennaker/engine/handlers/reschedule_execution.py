"""RescheduleExecution: make every running task poll now (after a cancel, pause or judgment)."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers._common import S
from gennaker.engine.runtime import HandlerContext


def handle(ctx: HandlerContext, message: m.RescheduleExecution) -> None:
    """Ensure and reschedule the RunTask of each running task to now."""
    execution = ctx.find(message.execution_id)
    if execution is None:
        return
    for stage in execution.stages:
        if stage.status not in (S.RUNNING, S.PAUSED):
            continue
        for task in stage.tasks:
            if task.status == S.RUNNING:
                run = m.RunTask(execution.type, execution.id, execution.application, stage.id, task.id)
                ctx.ensure(run)
                ctx.reschedule(run)
