"""StartStage: skip, wait for upstream, or plan the stage and start its first step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gennaker.engine import graph, planning
from gennaker.engine import messages as m
from gennaker.engine.handlers._common import (
    S,
    execution_message,
    policy_exception,
    record_policy_warnings,
    should_cancel,
    stage_message,
    with_stage,
)
from gennaker.engine.ports import PolicyDecision, PolicyQuestion
from gennaker.engine.registry import UnknownStageType, UnknownTaskType
from gennaker.engine.runtime import HandlerContext
from gennaker.model.execution import PIPELINE, STAGE_AFTER, STAGE_BEFORE, Execution, Stage

if TYPE_CHECKING:
    from gennaker.engine.contracts import EngineServices


def handle(ctx: HandlerContext, message: m.StartStage) -> None:
    """Start a NOT_STARTED stage whose upstream stages are done. Inside a transaction no policy
    server may be waited on: a stage that needs one is queued again, and the processor asks when it
    is delivered (``decide``)."""
    if decide(ctx, message) is not None:
        ctx.push(message)


def decide(
    ctx: HandlerContext, message: m.StartStage, remote: PolicyDecision | None = None
) -> PolicyQuestion | None:
    """Start the stage, or (when a policy server must decide and ``remote`` is not its answer yet)
    return the question to ask, having written nothing."""
    found = with_stage(ctx, message)
    if found is None:
        return None
    execution, stage = found
    if stage.status != S.NOT_STARTED or execution.status.is_complete:
        return None
    if should_cancel(execution, stage) and stage.parent_stage_id is None:
        # No new top-level stage once the execution is canceled. Nothing else may be queued for it
        # (a stage that ended just after the cancel asked for this one): let CompleteExecution settle
        # it. A synthetic stage still starts (as in Orca), since its parent cannot finish without
        # it; its tasks see the cancel and end CANCELED.
        ctx.push(execution_message(execution, m.CompleteExecution))
        return None
    if graph.any_upstream_failed(execution, stage):
        # Only after a restart can this happen: let CompleteExecution settle the outcome.
        ctx.push(execution_message(execution, m.CompleteExecution))
        return None
    if not graph.all_upstream_complete(execution, stage):
        return None  # the last upstream stage to finish sends StartStage again
    if _should_skip(ctx, execution, stage) or _past_expiry(ctx, stage):
        ctx.push(stage_message(execution, stage, m.SkipStage))
        return None
    if remote is None and ctx.services.policies.asks_remotely("stage"):
        return PolicyQuestion("stage", execution, stage)
    prepare_start(ctx.services, execution, stage, ctx.now_ms)
    decision = ctx.services.policies.check_stage(execution, stage, remote)
    record_policy_warnings(execution, decision)
    if decision.denied:
        # Refused before it plans anything, so none of its tasks or synthetic stages runs.
        stage.context["exception"] = policy_exception(decision.denied)
        stage.context["policyDenied"] = list(decision.denied)
        ctx.save(execution, stage)
        ctx.stage_event(execution, stage, "stage.starting")
        ctx.push(stage_message(execution, stage, m.CompleteStage))
        return None
    try:
        planning.plan_stage(ctx.services.registry, execution, stage, ctx.now_ms)
    except (UnknownStageType, UnknownTaskType) as exc:
        stage.context["exception"] = _exception(str(exc))
        stage.context["beforeStagePlanningFailed"] = True
        ctx.save(execution, stage)
        ctx.stage_event(execution, stage, "stage.starting")
        ctx.push(stage_message(execution, stage, m.CompleteStage))
        return None
    ctx.save(execution, stage)
    ctx.stage_event(execution, stage, "stage.starting")
    _start_first_step(ctx, execution, stage)
    return None


def prepare_start(services: EngineServices, execution: Execution, stage: Stage, now_ms: int) -> None:
    """The stage as it starts: running, its context evaluated (what stage policies see)."""
    stage.start_time = now_ms
    stage.status = S.RUNNING
    if stage.parent_stage_id is None:
        services.evaluator.evaluate_stage_context(execution, stage)


def _start_first_step(ctx: HandlerContext, execution: Execution, stage: Stage) -> None:
    before = planning.first_of(execution, stage, STAGE_BEFORE)
    if before:
        for child in before:
            ctx.push(stage_message(execution, child, m.StartStage))
        return
    if stage.tasks:
        ctx.push(
            m.StartTask(execution.type, execution.id, execution.application, stage.id, stage.tasks[0].id)
        )
        return
    after = [s for s in planning.first_of(execution, stage, STAGE_AFTER)]
    if after:
        for child in after:
            ctx.push(stage_message(execution, child, m.StartStage))
        return
    ctx.push(stage_message(execution, stage, m.CompleteStage))


def _should_skip(ctx: HandlerContext, execution: Execution, stage: Stage) -> bool:
    if execution.type != PIPELINE or stage.parent_stage_id is not None:
        return False
    # Orca's OptionalStageSupport.isOptional: only the ``expression`` type makes a stage optional,
    # and a null or blank expression leaves it enabled; any other result but true skips it.
    enabled = stage.context.get("stageEnabled")
    if not isinstance(enabled, dict):
        return False
    kind = enabled.get("type")
    if not isinstance(kind, str) or kind.lower() != "expression":
        return False
    expression = enabled.get("expression")
    if expression is None or (isinstance(expression, str) and not expression.strip()):
        return False
    return not ctx.services.evaluator.stage_enabled(execution, stage, expression)


def _past_expiry(ctx: HandlerContext, stage: Stage) -> bool:
    expiry = stage.start_time_expiry or stage.context.get("startTimeExpiry")
    try:
        return expiry is not None and ctx.now_ms > int(expiry)
    except (TypeError, ValueError):
        return False


def _exception(error: str) -> dict[str, object]:
    return {
        "details": {"error": error, "errors": [error]},
        "exceptionType": "StagePlanningFailed",
        "shouldRetry": False,
    }
