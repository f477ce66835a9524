"""CompleteStage: settle a stage's status from its tasks and children, then route onwards (§2.5-2.6)."""

from __future__ import annotations

from gennaker.engine import graph, planning
from gennaker.engine import messages as m
from gennaker.engine.handlers._common import S, execution_message, stage_message, start_next, with_stage
from gennaker.engine.runtime import HandlerContext, stage_event_type
from gennaker.model.execution import Execution, Stage


def handle(ctx: HandlerContext, message: m.CompleteStage) -> None:
    """Complete a RUNNING (or NOT_STARTED) stage."""
    found = with_stage(ctx, message)
    if found is None:
        return
    execution, stage = found
    if stage.status not in (S.RUNNING, S.NOT_STARTED):
        return
    status = graph.determine_status(execution, stage)
    if _fails_on_expressions(stage) or stage.context.get("policyDenied"):
        # A policy's refusal is not softened by failPipeline/continuePipeline.
        status = S.TERMINAL
    registry = ctx.services.registry
    if status in (S.SUCCEEDED, S.FAILED_CONTINUE, S.SKIPPED, S.NOT_STARTED):
        try:
            after = planning.plan_after_stages(registry, execution, stage, ctx.now_ms)
        except LookupError as exc:
            after = []
            stage.context["exception"] = _exception(str(exc))
            status = graph.failure_status(stage)
        pending = [s for s in after if s.status == S.NOT_STARTED]
        if pending:
            ctx.save(execution, stage)
            for child in pending:
                ctx.push(stage_message(execution, child, m.StartStage))
            return
        if status == S.NOT_STARTED:
            status = S.SUCCEEDED  # neither tasks nor synthetic stages: nothing failed
    elif status.is_halt:
        try:
            on_failure = planning.plan_on_failure_stages(registry, execution, stage, ctx.now_ms)
        except LookupError:
            on_failure = []
        if on_failure:
            ctx.save(execution, stage)
            for child in on_failure:
                ctx.push(stage_message(execution, child, m.StartStage))
            return
    if status == S.RUNNING:
        return  # after-stages still to run; their completion brings us back
    if _retry(ctx, execution, stage, status):
        return
    stage.status = status
    stage.end_time = ctx.now_ms
    _include_expression_errors(stage)
    ctx.save(execution, stage)
    ctx.stage_event(execution, stage, stage_event_type(status))
    _route(ctx, execution, stage, status)


def _route(ctx: HandlerContext, execution: Execution, stage: Stage, status: S) -> None:
    synthetic = stage.parent_stage_id is not None
    continues = status in (S.SUCCEEDED, S.SKIPPED) or (
        status == S.FAILED_CONTINUE
        and (not synthetic or stage.context.get("allowSiblingStagesToContinueOnFailure") is True)
    )
    if continues:
        start_next(ctx, execution, stage)
        return
    if status.is_halt:
        ctx.push(stage_message(execution, stage, m.CancelStage))
    if synthetic:
        assert stage.parent_stage_id is not None
        ctx.push(m.CompleteStage(execution.type, execution.id, execution.application, stage.parent_stage_id))
    else:
        ctx.push(execution_message(execution, m.CompleteExecution))


def _retry(ctx: HandlerContext, execution: Execution, stage: Stage, status: S) -> bool:
    """Gennaker's stage ``retry``: restart a failed top-level stage, up to maxAttempts in all."""
    policy = stage.context.get("retry")
    if (
        not isinstance(policy, dict)
        or stage.parent_stage_id is not None
        or status not in (S.TERMINAL, S.STOPPED, S.FAILED_CONTINUE)
        or execution.canceled
        or execution.status.is_complete
    ):
        return False
    try:
        max_attempts = int(policy.get("maxAttempts", 1))
        backoff_ms = int(float(policy.get("backoffSeconds", 0)) * 1000)
    except (TypeError, ValueError):
        return False
    history = stage.context.setdefault("retryAttempts", [])
    attempt = len(history) + 1
    if attempt >= max_attempts:
        return False
    history.append(
        {
            "attempt": attempt,
            "status": status.value,
            "startTime": stage.start_time,
            "endTime": ctx.now_ms,
            "exception": stage.context.get("exception"),
        }
    )
    planning.reset_stage(execution, stage)
    stage.context.pop("expressionEvaluationSummary", None)
    ctx.save(execution, stage)
    ctx.stage_event(execution, stage, "stage.retrying", attempt=attempt + 1, delayMs=backoff_ms)
    ctx.push(stage_message(execution, stage, m.StartStage), backoff_ms)
    return True


def _fails_on_expressions(stage: Stage) -> bool:
    summary = stage.context.get("expressionEvaluationSummary")
    return stage.context.get("failOnFailedExpressions") is True and bool(summary)


def _include_expression_errors(stage: Stage) -> None:
    summary = stage.context.get("expressionEvaluationSummary")
    if not isinstance(summary, dict) or not summary:
        return
    descriptions = [
        str(entry.get("description"))
        for entries in summary.values()
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]
    if not descriptions:
        return
    exception = stage.context.setdefault("exception", {"details": {}})
    details = exception.setdefault("details", {})
    errors = details.setdefault("errors", [])
    for description in descriptions:
        if description not in errors:
            errors.append(description)


def _exception(error: str) -> dict[str, object]:
    return {"details": {"error": error, "errors": [error]}, "exceptionType": "StagePlanningFailed"}
