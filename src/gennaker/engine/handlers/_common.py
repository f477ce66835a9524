"""Lookups and moves shared by several handlers (Orca's OrcaMessageHandler helpers)."""

from __future__ import annotations

from gennaker.engine import gates, graph
from gennaker.engine import messages as m
from gennaker.engine.ports import PolicyDecision
from gennaker.engine.runtime import HandlerContext
from gennaker.model.execution import Execution, Stage
from gennaker.model.status import ExecutionStatus

S = ExecutionStatus


def stage_message(execution: Execution, stage: Stage, cls: type[m.StageMessage]) -> m.StageMessage:
    """A stage-level message addressed to ``stage``."""
    return cls(execution.type, execution.id, execution.application, stage.id)


def execution_message(execution: Execution, cls: type[m.Message]) -> m.Message:
    """An execution-level message addressed to ``execution``."""
    return cls(execution.type, execution.id, execution.application)


def with_stage(ctx: HandlerContext, message: m.StageMessage) -> tuple[Execution, Stage] | None:
    """Load the execution and stage a message names, or end the execution TERMINAL when the stage is
    unknown (Orca's InvalidStageId); None when there is nothing to do."""
    execution = ctx.find(message.execution_id)
    if execution is None:
        return None
    stage = execution.stage(message.stage_id)
    if stage is None:
        fail_execution(ctx, execution, f"message {message.kind} names unknown stage {message.stage_id}")
        return None
    return execution, stage


def fail_execution(ctx: HandlerContext, execution: Execution, reason: str) -> None:
    """End an execution TERMINAL with a reason (invalid ids, unknown task types, dead messages)."""
    if execution.status.is_complete:
        return
    if execution.status == S.NOT_STARTED:
        gates.unpark(ctx, execution)  # a waiter that will never start must leave the line
    execution.status = S.TERMINAL
    execution.end_time = ctx.now_ms
    execution.extra.setdefault("errors", []).append(reason)
    for stage in execution.stages:
        if stage.status in (S.RUNNING, S.PAUSED):
            stage.status = S.TERMINAL
            stage.end_time = ctx.now_ms
            stage.context.setdefault("exception", {"details": {"error": reason, "errors": [reason]}})
            for task in stage.tasks:
                if not task.status.is_complete:
                    task.status = S.TERMINAL
                    task.end_time = ctx.now_ms
    ctx.save(execution)
    ctx.execution_event(execution, "pipeline.failed", reason=reason)
    release_execution(ctx, execution)


def release_execution(ctx: HandlerContext, execution: Execution) -> None:
    """After an execution ends: free its locks and concurrency slot, wake who waits for them."""
    for name in gates.release_locks(ctx, execution):
        ctx.push(
            m.StartWaitingExecutions(execution.type, execution.id, execution.application, key=f"lock:{name}")
        )
    if execution.pipeline_config_id and execution.type == "PIPELINE":
        ctx.push(
            m.StartWaitingExecutions(
                execution.type,
                execution.id,
                execution.application,
                key=execution.pipeline_config_id,
                purge_queue=not execution.keep_waiting_pipelines,
            )
        )


def start_next(ctx: HandlerContext, execution: Execution, stage: Stage) -> None:
    """After a stage ends well: start its downstream, else continue its parent, else finish."""
    following = graph.downstream(execution, stage)
    if following:
        for nxt in following:
            ctx.push(stage_message(execution, nxt, m.StartStage))
    elif stage.parent_stage_id is not None:
        parent = execution.stage(stage.parent_stage_id)
        if parent is not None:
            ctx.push(
                m.ContinueParentStage(
                    execution.type,
                    execution.id,
                    execution.application,
                    parent.id,
                    phase=stage.synthetic_stage_owner or "STAGE_BEFORE",
                )
            )
    else:
        ctx.push(execution_message(execution, m.CompleteExecution))


def should_cancel(execution: Execution, stage: Stage) -> bool:
    """Whether work on ``stage`` must stop: the execution is over, or canceled / past its main graph
    (finally stages keep running then)."""
    if execution.status.is_complete:
        return True
    if stage.is_finally:
        return bool(execution.state.get("finallyCanceled"))
    return execution.canceled or "outcome" in execution.state


def policy_exception(denied: tuple[str, ...]) -> dict[str, object]:
    """The stage exception for a policy refusal (Orca's exception shape, so Deck shows it)."""
    errors = [f"denied by policy {message}" for message in denied]
    return {"details": {"error": errors[0], "errors": errors}, "exceptionType": "PolicyDenied"}


def record_policy_warnings(execution: Execution, decision: PolicyDecision) -> None:
    """Keep a policy's warnings on the execution (``gennaker.policyWarnings``), each once."""
    if not decision.warnings:
        return
    kept = execution.state.setdefault("policyWarnings", [])
    for warning in decision.warnings:
        if warning not in kept:
            kept.append(warning)
