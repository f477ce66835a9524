"""ContinueParentStage: a phase of synthetic children ended; move the parent on."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers._common import S, stage_message, with_stage
from gennaker.engine.runtime import HandlerContext
from gennaker.model.execution import STAGE_BEFORE


def handle(ctx: HandlerContext, message: m.ContinueParentStage) -> None:
    """After the before-stages: the first task (or completion); after the after-stages: completion."""
    found = with_stage(ctx, message)
    if found is None:
        return
    execution, stage = found
    if stage.status != S.RUNNING:
        return
    children = list(execution.children(stage, message.phase))
    if not all(c.status.is_complete for c in children):
        return  # the last child to finish sends this message again
    if message.phase == STAGE_BEFORE:
        if all(c.status in (S.SUCCEEDED, S.SKIPPED, S.FAILED_CONTINUE) for c in children):
            first = next((t for t in stage.tasks if t.status == S.NOT_STARTED), None)
            if first is not None:
                ctx.push(m.StartTask(execution.type, execution.id, execution.application, stage.id, first.id))
                return
    ctx.push(stage_message(execution, stage, m.CompleteStage))
