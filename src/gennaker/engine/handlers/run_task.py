"""RunTask: run a task's work outside any transaction, then apply the result if nothing moved (§2.7).

Three phases, driven by the processor:
  prepare  (in a transaction) decide: a transition (cancel, pause, skip) made right there, or work;
  perform  (no transaction) the task's I/O, its timeout or cancel hook;
  apply    (in a new transaction) merge the result, provided the task is still RUNNING.
A pure task (no I/O, quick) may run all three inside one transaction.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import traceback
from dataclasses import dataclass
from typing import Any

from gennaker.engine import graph
from gennaker.engine import messages as m
from gennaker.engine.contracts import Task, TaskResult, TaskRun, TransientTaskError
from gennaker.engine.evaluation import uses_urls
from gennaker.engine.handlers._common import S, fail_execution, should_cancel, with_stage
from gennaker.engine.planning import EXECUTION_WINDOW
from gennaker.engine.registry import UnknownTaskType
from gennaker.engine.runtime import HandlerContext
from gennaker.model.execution import Execution, Stage
from gennaker.model.execution import Task as TaskRecord

log = logging.getLogger(__name__)

#: Outputs never published downstream (Orca drops it too).
_PRIVATE_OUTPUTS = ("stageTimeoutMs",)


@dataclass
class Pending:
    """Work decided by ``prepare``: what to call and on what."""

    mode: str  # execute | timeout | cancel
    task: Task
    run: TaskRun
    #: The context calls URL helpers: evaluate it in ``perform``, outside the transaction.
    evaluate_outside: bool = False


@dataclass(frozen=True)
class Outcome:
    """What ``perform`` produced: a result, or a reason to poll again."""

    result: TaskResult | None
    retry: bool = False
    mode: str = "execute"


def prepare(ctx: HandlerContext, message: m.RunTask) -> Pending | None:
    """Decide inside the transaction; returns the work to perform, or None when a transition was made."""
    found = with_stage(ctx, message)
    if found is None:
        return None
    execution, stage = found
    record = stage.task(message.task_id)
    if record is None:
        fail_execution(ctx, execution, f"stage {stage.id} has no task {message.task_id}")
        return None
    if record.status != S.RUNNING:
        return None
    try:
        task = ctx.services.registry.task(record.implementing_class)
    except UnknownTaskType as exc:
        fail_execution(ctx, execution, f"{exc} (stage {stage.ref_id or stage.id}, task {record.name})")
        return None
    if should_cancel(execution, stage):
        return Pending("cancel", task, _run(ctx, execution, stage, record, evaluate=False))
    if execution.status == S.PAUSED:
        ctx.push(m.PauseTask(execution.type, execution.id, execution.application, stage.id, record.id))
        return None
    if stage.context.get("manualSkip") is True:
        _complete(ctx, message, S.SKIPPED)
        return None
    outside = uses_urls(stage.context)
    run = _run(ctx, execution, stage, record, evaluate=not outside)
    if _timed_out(ctx, execution, stage, record, task):
        return Pending("timeout", task, run, outside)
    return Pending("execute", task, run, outside)


async def perform(pending: Pending) -> Outcome:
    """Call the task (no transaction is open); exceptions become results."""
    task, run = pending.task, pending.run
    if pending.evaluate_outside:
        # #fromUrl and friends fetch here, with no transaction (and no write lock) held.
        context = await asyncio.to_thread(run.services.evaluator.task_context, run.execution, run.stage)
        run = dataclasses.replace(run, context=context)
        pending.run = run
    try:
        if pending.mode == "cancel":
            return Outcome(await task.on_cancel(run), mode="cancel")
        if pending.mode == "timeout":
            return Outcome(await task.on_timeout(run), mode="timeout")
        return Outcome(await task.execute(run))
    except TransientTaskError as exc:
        log.info("task %s of stage %s will retry: %s", run.task_id, run.stage.id, exc)
        return Outcome(None, retry=True, mode=pending.mode)
    except Exception as exc:
        if pending.mode == "cancel":
            log.warning("cancel hook of stage %s failed: %s", run.stage.id, exc)
            return Outcome(None, mode="cancel")
        log.warning("task %s of stage %s failed", run.task_id, run.stage.id, exc_info=True)
        return Outcome(TaskResult(S.TERMINAL, {"exception": exception_details(exc, run)}), mode=pending.mode)


def apply(ctx: HandlerContext, message: m.RunTask, pending: Pending, outcome: Outcome) -> None:
    """Merge the outcome into the stage, if the task is still RUNNING, and send what comes next."""
    execution = ctx.find(message.execution_id)
    if execution is None:
        return
    stage = execution.stage(message.stage_id)
    record = stage.task(message.task_id) if stage is not None else None
    if stage is None or record is None or record.status != S.RUNNING:
        return  # the stage moved on (canceled, restarted) while the task ran: drop the result
    result = outcome.result
    if outcome.mode == "cancel":
        if result is not None:
            _merge(stage, result)
        ctx.save(execution, stage)
        _complete(ctx, message, S.CANCELED)
        return
    if outcome.mode == "timeout" and result is None:
        result = _timeout_result(stage, pending)
    if outcome.retry or result is None:
        ctx.push(message, _backoff(stage, pending.task, None))
        return
    _merge(stage, result)
    summary = pending.run.context.get("expressionEvaluationSummary") if pending.run.context else None
    if isinstance(summary, dict):
        # A task that evaluates expressions itself (evaluateVariables) reports its own failures.
        own = result.context.get("expressionEvaluationSummary")
        stage.context["expressionEvaluationSummary"] = (
            {**summary, **own} if isinstance(own, dict) else summary
        )
    ctx.save(execution, stage)
    status = result.status
    if status == S.RUNNING:
        ctx.push(message, _backoff(stage, pending.task, result.backoff_ms))
        return
    if status in (S.TERMINAL, S.CANCELED):
        _complete(ctx, message, graph.failure_status(stage, status), original=status)
        return
    _complete(ctx, message, status)


def run_inline(ctx: HandlerContext, message: m.RunTask) -> bool:
    """Run a pure task inside the current transaction; False when the task is not pure."""
    pending = prepare(ctx, message)
    if pending is None:
        return True
    if not pending.task.pure or pending.mode == "cancel" or pending.evaluate_outside:
        return False
    coroutine = perform(pending)
    try:
        coroutine.send(None)
    except StopIteration as done:
        apply(ctx, message, pending, done.value)
        return True
    coroutine.close()
    raise RuntimeError(f"task {pending.run.task_id} declared pure but awaited something")


def is_pure(ctx: HandlerContext, message: m.RunTask) -> bool:
    """Whether the task a RunTask names may run inside a transaction."""
    execution = ctx.find(message.execution_id)
    stage = execution.stage(message.stage_id) if execution is not None else None
    record = stage.task(message.task_id) if stage is not None else None
    if record is None:
        return True  # prepare() will settle it without I/O
    if stage is not None and uses_urls(stage.context):
        return False  # its context fetches URLs: evaluated outside the transaction
    try:
        return bool(ctx.services.registry.task(record.implementing_class).pure)
    except UnknownTaskType:
        return True


# -- helpers -------------------------------------------------------------------------------------


def _run(
    ctx: HandlerContext, execution: Execution, stage: Stage, record: TaskRecord, *, evaluate: bool
) -> TaskRun:
    context = ctx.services.evaluator.task_context(execution, stage) if evaluate else stage.context
    return TaskRun(
        execution=execution,
        stage=stage,
        context=context,
        task_id=record.id,
        task_start_time=record.start_time or ctx.now_ms,
        services=ctx.services,
    )


def _complete(ctx: HandlerContext, message: m.RunTask, status: S, original: S | None = None) -> None:
    ctx.push(
        m.CompleteTask(
            message.execution_type,
            message.execution_id,
            message.application,
            message.stage_id,
            message.task_id,
            status=status,
            original_status=original or status,
        )
    )


def _merge(stage: Stage, result: TaskResult) -> None:
    if result.context:
        stage.context.update(result.context)
    if result.outputs:
        stage.outputs.update({k: v for k, v in result.outputs.items() if k not in _PRIVATE_OUTPUTS})


def _backoff(stage: Stage, task: Task, requested: int | None) -> int:
    delay = requested if requested is not None else task.backoff_ms
    floor = stage.context.get("backoffPeriodMs")
    if isinstance(floor, (int, float)) and not isinstance(floor, bool):
        delay = max(delay, int(floor))
    return max(0, int(delay))


def _as_ms(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _timed_out(
    ctx: HandlerContext, execution: Execution, stage: Stage, record: TaskRecord, task: Task
) -> bool:
    now = ctx.now_ms
    owner = graph.stage_timeout_owner(execution, stage)
    stage_limit = _as_ms(owner.context.get("stageTimeoutMs")) if owner is not None else None
    if owner is not None and stage_limit is not None and owner.start_time and owner.type != EXECUTION_WINDOW:
        elapsed = now - owner.start_time - graph.paused_ms_since(execution, owner.start_time, now)
        elapsed -= _window_time(execution, owner, now)
        if elapsed > stage_limit:
            return True
    limit = task.timeout_ms
    if task.overridable_timeout and stage_limit is not None:
        limit = stage_limit
    if limit is None or record.start_time is None:
        return False
    elapsed = now - record.start_time - graph.paused_ms_since(execution, record.start_time, now)
    return elapsed > limit


def _window_time(execution: Execution, stage: Stage, now: int) -> int:
    total = 0
    for child in execution.children(stage):
        if child.type == EXECUTION_WINDOW and child.start_time:
            total += (child.end_time or now) - child.start_time
    return total


def _timeout_result(stage: Stage, pending: Pending) -> TaskResult:
    if stage.context.get("markSuccessfulOnTimeout") is True:
        return TaskResult(S.SUCCEEDED)
    error = f"Operation timed out: task {pending.run.task_id} of stage {stage.name!r}"
    return TaskResult(
        S.TERMINAL,
        {
            "exception": {
                "details": {"error": error, "errors": [error]},
                "exceptionType": "TimeoutException",
                "operation": pending.run.task_id,
                "shouldRetry": False,
                "timestamp": pending.run.now_ms,
            }
        },
    )


def exception_details(exc: BaseException, run: TaskRun) -> dict[str, Any]:
    """Orca's ``context.exception`` shape for an exception a task raised."""
    error = str(exc) or exc.__class__.__name__
    return {
        "details": {
            "error": error,
            "errors": [error],
            "stackTrace": traceback.format_exception_only(exc)[-1],
        },
        "exceptionType": exc.__class__.__name__,
        "operation": run.task_id,
        "shouldRetry": False,
        "timestamp": run.now_ms,
    }
