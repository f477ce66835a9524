"""AbortStage: a stage-level message died in the queue; end the stage TERMINAL (Orca's dead-letter path)."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers._common import S, execution_message, stage_message, with_stage
from gennaker.engine.runtime import HandlerContext


def handle(ctx: HandlerContext, message: m.AbortStage) -> None:
    """Fail the stage and let its parent or the execution react."""
    found = with_stage(ctx, message)
    if found is None:
        return
    execution, stage = found
    if stage.status.is_complete:
        return
    stage.status = S.TERMINAL
    stage.end_time = ctx.now_ms
    reason = "a message for this stage could not be delivered; the stage was aborted"
    stage.context.setdefault("exception", {"details": {"error": reason, "errors": [reason]}})
    for task in stage.tasks:
        if not task.status.is_complete:
            task.status = S.TERMINAL
            task.end_time = ctx.now_ms
    ctx.save(execution)
    ctx.stage_event(execution, stage, "stage.failed", reason=reason)
    ctx.push(stage_message(execution, stage, m.CancelStage))
    if stage.parent_stage_id is None:
        ctx.push(execution_message(execution, m.CompleteExecution))
    else:
        ctx.push(m.CompleteStage(execution.type, execution.id, execution.application, stage.parent_stage_id))
