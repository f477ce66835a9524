"""CancelExecution: stop a waiting or running execution (its finally stages still run)."""

from __future__ import annotations

from gennaker.engine import gates
from gennaker.engine import messages as m
from gennaker.engine.handlers._common import S, execution_message, release_execution
from gennaker.engine.runtime import HandlerContext


def handle(ctx: HandlerContext, message: m.CancelExecution) -> None:
    """Mark the execution canceled and make its running tasks notice now."""
    execution = ctx.find(message.execution_id)
    if execution is None or execution.status.is_complete:
        return
    if execution.canceled and "outcome" in execution.state:
        execution.state["finallyCanceled"] = True  # a second cancel stops the finally block too
    execution.canceled = True
    execution.canceled_by = execution.canceled_by or message.user
    execution.cancellation_reason = execution.cancellation_reason or message.reason
    if execution.status == S.NOT_STARTED:
        gates.unpark(ctx, execution)
        execution.status = S.CANCELED
        execution.end_time = ctx.now_ms
        ctx.save(execution)
        ctx.execution_event(execution, "pipeline.failed", canceled=True)
        release_execution(ctx, execution)
        return
    if execution.status == S.PAUSED:
        _resume_for_cancel(ctx, message)
    ctx.save(execution)
    ctx.execution_event(execution, "pipeline.canceling", user=message.user, reason=message.reason)
    ctx.push(execution_message(execution, m.RescheduleExecution))
    # When no task is in flight (e.g. a stage waits for a delayed retry), nothing else would
    # settle the execution: CompleteExecution does, and is a no-op while stages still run.
    ctx.push(execution_message(execution, m.CompleteExecution))


def _resume_for_cancel(ctx: HandlerContext, message: m.CancelExecution) -> None:
    execution = ctx.load(message.execution_id)
    paused = execution.paused or {}
    if paused.get("pauseTime"):
        intervals = paused.setdefault("intervals", [])
        intervals.append([int(paused["pauseTime"]), ctx.now_ms])
    paused["resumeTime"] = ctx.now_ms
    execution.paused = paused
    execution.status = S.RUNNING
    for stage in execution.stages:
        if stage.status == S.PAUSED:
            stage.status = S.RUNNING
            for task in stage.tasks:
                if task.status == S.PAUSED:
                    task.status = S.RUNNING
