"""CompleteExecution: decide the outcome of the main graph, run ``finally`` stages, then finish (§2.6.6).

A canceled execution that would end SUCCEEDED ends CANCELED (a stage that ended STOPPED or
SUCCEEDED after the cancel, a finally block that the first cancel let finish).
"""

from __future__ import annotations

from gennaker.engine import graph
from gennaker.engine import messages as m
from gennaker.engine.handlers._common import S, release_execution, stage_message
from gennaker.engine.runtime import HandlerContext, execution_event_type
from gennaker.model.execution import Execution, Stage


def outcome_of(execution: Execution, stages: list[Stage]) -> S | None:
    """The status a block of top-level stages adds up to, or None while it is still undecided."""
    statuses = [s.status for s in stages]
    if all(s in (S.SUCCEEDED, S.SKIPPED, S.FAILED_CONTINUE) for s in statuses):
        return S.SUCCEEDED
    if S.TERMINAL in statuses:
        return S.TERMINAL
    if S.CANCELED in statuses:
        return S.CANCELED
    if S.STOPPED in statuses and not _other_branches_incomplete(execution, stages):
        if any(
            s.status == S.STOPPED and s.context.get("completeOtherBranchesThenFail") is True for s in stages
        ):
            return S.TERMINAL
        return S.SUCCEEDED
    return None


def _other_branches_incomplete(execution: Execution, stages: list[Stage]) -> bool:
    for stage in stages:
        if stage.status in (S.RUNNING, S.PAUSED):
            return True
        if stage.status == S.NOT_STARTED and graph.all_upstream_complete(execution, stage):
            return True
    return False


def handle(ctx: HandlerContext, message: m.CompleteExecution) -> None:
    """Settle the execution when its stages allow it."""
    execution = ctx.find(message.execution_id)
    if execution is None or execution.status.is_complete or execution.status == S.NOT_STARTED:
        return
    main = list(execution.top_level(finally_block=False))
    outcome_value = execution.state.get("outcome")
    if outcome_value is None:
        outcome = outcome_of(execution, main)
        if (
            outcome is None
            and execution.canceled
            and not any(s.status in (S.RUNNING, S.PAUSED) for s in main)
        ):
            outcome = S.CANCELED  # canceled before the stages it was waiting for could start
        if outcome is None:
            return  # other branches still run; each sends CompleteExecution when it ends
        if outcome != S.SUCCEEDED:
            for stage in main:
                if stage.status in (S.RUNNING, S.PAUSED):
                    ctx.push(stage_message(execution, stage, m.CancelStage))
        finally_stages = list(execution.top_level(finally_block=True))
        if not finally_stages:
            _finish(ctx, execution, outcome)
            return
        if execution.canceled:
            outcome = S.CANCELED
        execution.state["outcome"] = outcome.value
        ctx.save(execution)
        ctx.execution_event(execution, "pipeline.finally", outcome=outcome.value)
        outcome_value = outcome.value
    main_outcome = S(outcome_value)
    if any(s.status in (S.RUNNING, S.PAUSED) for s in main):
        return  # wait until the main graph has wound down before the finally block starts
    finally_stages = list(execution.top_level(finally_block=True))
    # A second cancel stops the finally block too: StartStage refuses its stages from then on.
    finally_canceled = bool(execution.state.get("finallyCanceled"))
    if all(s.status == S.NOT_STARTED for s in finally_stages) and not finally_canceled:
        for stage in graph.initial_stages(execution, finally_block=True):
            ctx.push(stage_message(execution, stage, m.StartStage))
        return
    finally_outcome = outcome_of(execution, finally_stages)
    if (
        finally_outcome is None
        and finally_canceled
        and not any(s.status in (S.RUNNING, S.PAUSED) for s in finally_stages)
    ):
        finally_outcome = S.CANCELED
    if finally_outcome is None:
        return
    if main_outcome == S.SUCCEEDED and finally_outcome != S.SUCCEEDED:
        final = S.TERMINAL if finally_outcome != S.CANCELED else S.CANCELED
    else:
        final = main_outcome
    for stage in finally_stages:
        if stage.status in (S.RUNNING, S.PAUSED):
            ctx.push(stage_message(execution, stage, m.CancelStage))
    _finish(ctx, execution, final)


def _finish(ctx: HandlerContext, execution: Execution, status: S) -> None:
    if execution.canceled and status == S.SUCCEEDED:
        # A canceled execution never reports success (nor fires what waits for it), even when its
        # stages ended well or STOPPED after the cancel, or a finally block that the first cancel
        # let run finished.
        status = S.CANCELED
    execution.status = status
    execution.end_time = ctx.now_ms
    ctx.save(execution)
    ctx.execution_event(execution, execution_event_type(status))
    release_execution(ctx, execution)
    _wake_parent(ctx, execution)


def _wake_parent(ctx: HandlerContext, execution: Execution) -> None:
    """A child pipeline ended: let the parent's monitoring task look now, not at its next poll."""
    parent = execution.trigger.get("parentExecution")
    if execution.trigger.get("type") != "pipeline" or not isinstance(parent, dict) or not parent.get("id"):
        return
    ctx.push(
        m.RescheduleExecution(
            str(parent.get("type") or "PIPELINE"), str(parent["id"]), str(parent.get("application") or "")
        )
    )
