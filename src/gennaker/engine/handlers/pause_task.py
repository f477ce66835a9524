"""PauseTask: a running task noticed its execution is paused."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers._common import S, stage_message, with_stage
from gennaker.engine.runtime import HandlerContext


def handle(ctx: HandlerContext, message: m.PauseTask) -> None:
    """Mark the task PAUSED and pause its stage."""
    found = with_stage(ctx, message)
    if found is None:
        return
    execution, stage = found
    task = stage.task(message.task_id)
    if task is None or task.status != S.RUNNING:
        return
    task.status = S.PAUSED
    ctx.save(execution)
    ctx.push(stage_message(execution, stage, m.PauseStage))
