"""One handler per message kind, one module each (Orca's q/handler/)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gennaker.engine import messages as m
from gennaker.engine.handlers import (
    abort_stage,
    cancel_execution,
    complete_execution,
    complete_stage,
    complete_task,
    continue_parent_stage,
    pause_stage,
    pause_task,
    reschedule_execution,
    restart_stage,
    resume_execution,
    resume_stage,
    resume_task,
    skip_stage,
    start_execution,
    start_stage,
    start_task,
    start_waiting_executions,
)
from gennaker.engine.runtime import HandlerContext

Handler = Callable[[HandlerContext, Any], None]

#: Handlers that run entirely inside one transaction. RunTask and CancelStage do I/O between two
#: transactions and are driven by gennaker.engine.handlers.run_task / cancel_stage directly.
TRANSACTIONAL: dict[str, Handler] = {
    m.StartExecution.kind: start_execution.handle,
    m.StartStage.kind: start_stage.handle,
    m.StartTask.kind: start_task.handle,
    m.CompleteTask.kind: complete_task.handle,
    m.CompleteStage.kind: complete_stage.handle,
    m.ContinueParentStage.kind: continue_parent_stage.handle,
    m.CompleteExecution.kind: complete_execution.handle,
    m.SkipStage.kind: skip_stage.handle,
    m.AbortStage.kind: abort_stage.handle,
    m.CancelExecution.kind: cancel_execution.handle,
    m.PauseStage.kind: pause_stage.handle,
    m.PauseTask.kind: pause_task.handle,
    m.ResumeExecution.kind: resume_execution.handle,
    m.ResumeStage.kind: resume_stage.handle,
    m.ResumeTask.kind: resume_task.handle,
    m.RestartStage.kind: restart_stage.handle,
    m.RescheduleExecution.kind: reschedule_execution.handle,
    m.StartWaitingExecutions.kind: start_waiting_executions.handle,
}
