"""ResumeExecution: resume every paused top-level stage."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers._common import S, stage_message
from gennaker.engine.runtime import HandlerContext


def handle(ctx: HandlerContext, message: m.ResumeExecution) -> None:
    """Send ResumeStage for each PAUSED top-level stage."""
    execution = ctx.find(message.execution_id)
    if execution is None or execution.status != S.RUNNING:
        return
    for stage in execution.top_level():
        if stage.status == S.PAUSED:
            ctx.push(stage_message(execution, stage, m.ResumeStage))
