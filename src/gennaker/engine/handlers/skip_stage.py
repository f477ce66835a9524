"""SkipStage: a stage that is disabled, expired or manually skipped ends SKIPPED and the graph goes on."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers._common import S, start_next, with_stage
from gennaker.engine.runtime import HandlerContext


def handle(ctx: HandlerContext, message: m.SkipStage) -> None:
    """Skip a stage that has not finished."""
    found = with_stage(ctx, message)
    if found is None:
        return
    execution, stage = found
    manual = stage.context.get("manualSkip") is True
    if stage.status not in (S.RUNNING, S.NOT_STARTED) and not manual:
        return
    if stage.status.is_complete and stage.status != S.SKIPPED and not manual:
        return
    if stage.status == S.SKIPPED:
        return
    stage.status = S.SKIPPED
    stage.end_time = ctx.now_ms
    if manual:
        for child in execution.children(stage):
            if not child.status.is_complete:
                child.status = S.SKIPPED
                child.end_time = ctx.now_ms
        for task in stage.tasks:
            if not task.status.is_complete:
                task.status = S.SKIPPED
                task.end_time = ctx.now_ms
    ctx.save(execution)
    ctx.stage_event(execution, stage, "stage.complete")
    start_next(ctx, execution, stage)
