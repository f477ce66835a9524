"""StartWaitingExecutions: a concurrency slot or a lock was freed; start who waits for it."""

from __future__ import annotations

from gennaker.engine import gates
from gennaker.engine import messages as m
from gennaker.engine.runtime import HandlerContext
from gennaker.store.executions import ExecutionNotFound


def handle(ctx: HandlerContext, message: m.StartWaitingExecutions) -> None:
    """purge_queue: start the newest waiter and cancel the others (keepWaitingPipelines=false);
    otherwise start the oldest (FIFO)."""
    gates.serialize_waiters(ctx, message.key)
    waiting = gates.waiting_on(ctx, message.key)
    if not waiting:
        return
    if message.purge_queue:
        chosen, superseded = waiting[-1], waiting[:-1]
    else:
        chosen, superseded = waiting[0], []
    try:
        execution = ctx.load(chosen)
    except ExecutionNotFound:
        return
    for older in superseded:
        ctx.push(
            m.CancelExecution(
                execution.type,
                older,
                execution.application,
                user="gennaker",
                reason=f"Superseded by newer execution {chosen} (keepWaitingPipelines is false)",
            )
        )
    # StartExecution re-checks every gate: if another limit or lock still holds it, it waits again
    # (keeping its place in the line, since its waiting row stays until it starts).
    ctx.push(m.StartExecution(execution.type, execution.id, execution.application))
