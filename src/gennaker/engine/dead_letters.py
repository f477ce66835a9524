"""What happens to a message that could not be delivered (Orca's DeadMessageHandler): the thing it
addressed ends in failure, with the reason, so no execution waits forever for a lost message."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers._common import fail_execution
from gennaker.engine.runtime import HandlerContext
from gennaker.model.status import ExecutionStatus


def handle(ctx: HandlerContext, message: m.Message, reason: str) -> None:
    """Task level: CompleteTask(TERMINAL); stage level: AbortStage; execution level: TERMINAL.

    A terminal message that dies in turn goes one level up (CompleteTask(TERMINAL) -> AbortStage ->
    execution TERMINAL), so a message that can never be handled cannot come back forever (Orca marks
    it with DeadMessageAttribute for the same reason)."""
    if isinstance(message, m.StartWaitingExecutions):
        return  # nothing addressed: the waiters wait for the next slot to free
    why = f"{message.kind} could not be processed: {reason}"
    if isinstance(message, m.TaskMessage) and not _fails_task(message):
        _record(ctx, message, why)
        ctx.push(
            m.CompleteTask(
                message.execution_type,
                message.execution_id,
                message.application,
                message.stage_id,
                message.task_id,
                status=ExecutionStatus.TERMINAL,
                original_status=ExecutionStatus.TERMINAL,
            )
        )
        return
    if isinstance(message, m.StageMessage) and not isinstance(message, m.AbortStage):
        _record(ctx, message, why)
        ctx.push(
            m.AbortStage(message.execution_type, message.execution_id, message.application, message.stage_id)
        )
        return
    execution = ctx.find(message.execution_id)
    if execution is not None:
        fail_execution(ctx, execution, why)


def _record(ctx: HandlerContext, message: m.StageMessage, why: str) -> None:
    """Say on the stage why it is about to fail: the messages that fail it carry no reason."""
    execution = ctx.find(message.execution_id)
    stage = execution.stage(message.stage_id) if execution is not None else None
    if execution is None or stage is None or stage.status.is_complete:
        return
    stage.context.setdefault("exception", {"details": {"error": why, "errors": [why]}})
    ctx.save(execution)


def _fails_task(message: m.TaskMessage) -> bool:
    return isinstance(message, m.CompleteTask) and message.status == ExecutionStatus.TERMINAL
