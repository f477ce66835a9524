"""PauseStage: mark a stage PAUSED, and its parents up to the top."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers._common import S, with_stage
from gennaker.engine.runtime import HandlerContext
from gennaker.model.execution import Stage


def handle(ctx: HandlerContext, message: m.PauseStage) -> None:
    """Pause the stage and each running parent."""
    found = with_stage(ctx, message)
    if found is None:
        return
    execution, stage = found
    current: Stage | None = stage
    while current is not None and current.status == S.RUNNING:
        current.status = S.PAUSED
        ctx.stage_event(execution, current, "stage.paused")
        current = execution.stage(current.parent_stage_id) if current.parent_stage_id else None
    ctx.save(execution)
