"""RestartStage: run a finished top-level stage, and what follows it, again (§2.8)."""

from __future__ import annotations

from gennaker.engine import graph, planning
from gennaker.engine import messages as m
from gennaker.engine.handlers._common import S, execution_message, stage_message, with_stage
from gennaker.engine.registry import UnknownStageType
from gennaker.engine.runtime import HandlerContext
from gennaker.model.execution import Execution, Stage


def handle(ctx: HandlerContext, message: m.RestartStage) -> None:
    """Reset the stage and its completed downstream stages, then start it."""
    found = with_stage(ctx, message)
    if found is None:
        return
    execution, stage = found
    stage = graph.top_level_of(execution, stage)
    if not (stage.status.is_complete or stage.status == S.NOT_STARTED):
        return
    stage.context["restartDetails"] = {
        "restartedBy": message.user or "anonymous",
        "restartTime": ctx.now_ms,
        "previousException": stage.context.get("exception"),
    }
    _reset(ctx, execution, stage, set())
    was_complete = execution.status.is_complete
    execution.canceled = False
    execution.canceled_by = None
    execution.cancellation_reason = None
    for key in ("outcome", "finallyCanceled"):
        execution.state.pop(key, None)
    if not stage.is_finally:
        for final_stage in execution.top_level(finally_block=True):
            if final_stage.status.is_complete:
                _reset(ctx, execution, final_stage, set())
    execution.end_time = None
    ctx.stage_event(execution, stage, "stage.restarted", user=message.user)
    if was_complete and (
        execution.locks or execution.limit_concurrent or execution.max_concurrent_executions
    ):
        # A finished execution gave up its locks and its concurrency slot: win them back first.
        execution.status = S.NOT_STARTED
        execution.state["pendingRestart"] = {"stageId": stage.id, "user": message.user}
        ctx.save(execution)
        ctx.push(execution_message(execution, m.StartExecution))
        return
    execution.status = S.RUNNING
    ctx.save(execution)
    ctx.push(stage_message(execution, stage, m.StartStage))


def _reset(ctx: HandlerContext, execution: Execution, stage: Stage, seen: set[str]) -> None:
    if stage.id in seen:
        return
    seen.add(stage.id)
    if stage.status.is_complete:
        try:
            planning.definition_for(ctx.services.registry, stage).prepare_for_restart(stage)
        except UnknownStageType:
            pass
        planning.reset_stage(execution, stage)
    for nxt in graph.downstream(execution, stage):
        _reset(ctx, execution, nxt, seen)
