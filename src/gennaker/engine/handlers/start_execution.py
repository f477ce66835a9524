"""StartExecution: gate on concurrency and locks, then start the initial stages."""

from __future__ import annotations

from gennaker.engine import gates, graph
from gennaker.engine import messages as m
from gennaker.engine.handlers._common import (
    policy_exception,
    record_policy_warnings,
    release_execution,
    stage_message,
)
from gennaker.engine.ports import PolicyDecision, PolicyQuestion
from gennaker.engine.runtime import HandlerContext
from gennaker.model.execution import Execution
from gennaker.model.status import ExecutionStatus

S = ExecutionStatus


def handle(ctx: HandlerContext, message: m.StartExecution) -> None:
    """Start a NOT_STARTED execution, or park it while a limit or lock holds it back. Inside a
    transaction no policy server may be waited on: an execution that needs one is queued again, and
    the processor asks when it is delivered (``decide``)."""
    if decide(ctx, message) is not None:
        ctx.push(message)


def decide(
    ctx: HandlerContext, message: m.StartExecution, remote: PolicyDecision | None = None
) -> PolicyQuestion | None:
    """Start (or park) the execution, or (when a policy server must decide and ``remote`` is not
    its answer yet) return the question to ask, having written nothing."""
    execution = ctx.find(message.execution_id)
    if execution is None or execution.status != S.NOT_STARTED:
        return None
    if execution.canceled:
        gates.unpark(ctx, execution)
        execution.status = S.CANCELED
        execution.end_time = ctx.now_ms
        ctx.save_header(execution)
        ctx.execution_event(execution, "pipeline.failed")
        release_execution(ctx, execution)
        return None
    if execution.start_time_expiry is not None and ctx.now_ms > int(execution.start_time_expiry):
        ctx.push(
            m.CancelExecution(
                execution.type,
                execution.id,
                execution.application,
                reason="Could not begin execution before start time expiry",
            )
        )
        return None
    if remote is None and ctx.services.policies.asks_remotely("start"):
        # Asked before the gates, which write (locks, the waiting list); the answer is applied only
        # if they let the execution start now, and asked again at its next attempt otherwise.
        return PolicyQuestion("start", execution)
    blocked = gates.concurrency_block(ctx, execution) or gates.acquire_locks(ctx, execution)
    if blocked is not None:
        _wait(ctx, message, blocked)
        return None
    gates.unpark(ctx, execution)
    execution.status = S.RUNNING
    execution.start_time = execution.start_time or ctx.now_ms
    execution.end_time = None
    decision = ctx.services.policies.check_start(execution, remote)
    record_policy_warnings(execution, decision)
    if decision.denied:
        _refuse(ctx, execution, decision.denied)
        return None
    restart = execution.state.pop("pendingRestart", None)
    if restart:
        stage = execution.stage(str(restart.get("stageId")))
        first = [stage] if stage is not None else []
    else:
        first = graph.initial_stages(execution)
    if not first:
        execution.status = S.TERMINAL
        execution.end_time = ctx.now_ms
        execution.extra.setdefault("errors", []).append("the pipeline has no initial stage")
        ctx.save_header(execution)
        ctx.execution_event(execution, "pipeline.failed", reason="no initial stage")
        release_execution(ctx, execution)
        return None
    ctx.save_header(execution)
    ctx.execution_event(execution, "pipeline.starting")
    for stage in first:
        ctx.push(stage_message(execution, stage, m.StartStage))
    return None


def _wait(ctx: HandlerContext, message: m.StartExecution, blocked: gates.Blocked) -> None:
    execution = ctx.load(message.execution_id)
    if blocked.key.startswith("lock:"):
        name = blocked.key[len("lock:") :]
        if gates.lock_mode(execution, name) == "newest_first":
            for older in gates.waiting_on(ctx, blocked.key):
                if older != execution.id:
                    ctx.push(
                        m.CancelExecution(
                            execution.type,
                            older,
                            execution.application,
                            user="gennaker",
                            reason=f"Superseded by newer execution {execution.id} waiting for lock {name}",
                        )
                    )
    gates.park(ctx, execution, blocked)
    ctx.save_header(execution)
    ctx.execution_event(execution, "pipeline.waiting", reason=blocked.reason)


def _refuse(ctx: HandlerContext, execution: Execution, denied: tuple[str, ...]) -> None:
    """A start policy refused: the execution ends TERMINAL before any stage runs, and its initial
    stages carry the policies' messages."""
    execution.status = S.TERMINAL
    execution.end_time = ctx.now_ms
    first = list(graph.initial_stages(execution))
    for stage in first:
        stage.status = S.TERMINAL
        stage.start_time = stage.end_time = ctx.now_ms
        stage.context["exception"] = policy_exception(denied)
    ctx.save(execution, *first)
    ctx.execution_event(execution, "pipeline.failed", reason="denied by policy")
    release_execution(ctx, execution)
