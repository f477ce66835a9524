"""CancelStage: a stage halted; wake its running tasks and call its type's cancel hook (outside any
transaction: stopping a child pipeline, calling a webhook's cancelEndpoint, killing a job)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gennaker.engine import messages as m
from gennaker.engine.contracts import StageDefinition
from gennaker.engine.handlers._common import S, with_stage
from gennaker.engine.planning import definition_for
from gennaker.engine.registry import UnknownStageType
from gennaker.engine.runtime import HandlerContext
from gennaker.model.execution import Execution, Stage

log = logging.getLogger(__name__)


@dataclass
class Pending:
    """A cancel hook to call."""

    definition: StageDefinition
    execution: Execution
    stage: Stage


def prepare(ctx: HandlerContext, message: m.CancelStage) -> Pending | None:
    """Reschedule the stage's running tasks; return the cancel hook to call, if any."""
    found = with_stage(ctx, message)
    if found is None:
        return None
    execution, stage = found
    for task in stage.tasks:
        if task.status == S.RUNNING:
            run = m.RunTask(execution.type, execution.id, execution.application, stage.id, task.id)
            ctx.ensure(run)
            ctx.reschedule(run)
    if not stage.status.is_halt or "cancelResults" in stage.context:
        return None
    try:
        definition = definition_for(ctx.services.registry, stage)
    except UnknownStageType:
        return None
    if not definition.cancellable:
        return None
    return Pending(definition, execution, stage)


async def perform(pending: Pending, services: Any) -> Mapping[str, Any]:
    """Call the hook; a failing hook is recorded, never raised (cancel is best effort)."""
    try:
        result = await pending.definition.cancel(pending.execution, pending.stage, services)
        return {"status": "done", **(dict(result) if result else {})}
    except Exception as exc:
        log.warning("cancel of stage %s failed: %s", pending.stage.id, exc)
        return {"status": "failed", "error": str(exc) or exc.__class__.__name__}


def apply(ctx: HandlerContext, message: m.CancelStage, result: Mapping[str, Any]) -> None:
    """Record what the cancel hook did."""
    found = with_stage(ctx, message)
    if found is None:
        return
    execution, stage = found
    if "cancelResults" in stage.context:
        return
    stage.context["cancelResults"] = dict(result)
    ctx.save(execution)
