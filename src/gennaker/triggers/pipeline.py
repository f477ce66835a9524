"""``pipeline`` triggers: start a pipeline when another one ends (Orca's DependentPipelineStarter).

A trigger ``{type: "pipeline", application, pipeline: <config id>, status: [...]}`` fires when an
execution of that config, in that application, ends with a listed status: SUCCEEDED is
``successful``, CANCELED ``canceled``, any other end ``failed``. The new execution's trigger
carries ``parentExecution`` (the finished execution's JSON), ``parentPipelineId``,
``parentPipelineName``, ``parentPipelineApplication``, ``parentStatus`` and ``user`` (the
parent's trigger user). The dispatcher calls ``on_event`` for every ``pipeline.complete`` and
``pipeline.failed`` event; the correlationId ``pipeline:<parent execution id>:<config id>:...``
keeps a re-read event from starting a second child.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from gennaker.events import EventRecord
from gennaker.model.execution import Execution
from gennaker.triggers import common

if TYPE_CHECKING:
    from gennaker.services import Services

ENDED = ("pipeline.complete", "pipeline.failed")
SOURCE = "pipeline"


def status_name(status: str) -> str:
    """Spinnaker's name for how an execution ended."""
    if status == "SUCCEEDED":
        return "successful"
    if status == "CANCELED":
        return "canceled"
    return "failed"


def on_event(
    services: Services,
    event: EventRecord,
    candidates: Sequence[common.Candidate],
    load: Callable[[str], Execution | None],
) -> list[common.StartResult]:
    """Start the pipelines that wait for the execution this event ended."""
    body = event.body
    if event.type not in ENDED or body.get("executionType", "PIPELINE") != "PIPELINE":
        return []
    config_id = body.get("pipelineConfigId")
    application = str(body.get("application") or event.application or "")
    ended = status_name(str(body.get("status") or ""))
    results: list[common.StartResult] = []
    parent: Execution | None = None
    for candidate in candidates:
        trigger = candidate.trigger
        if not config_id or str(trigger.get("pipeline") or "") != config_id:
            continue
        if str(trigger.get("application") or "").lower() != application.lower():
            continue
        statuses = trigger.get("status")
        if not isinstance(statuses, list) or ended not in {str(s).lower() for s in statuses}:
            continue
        if parent is None:
            parent = load(str(event.execution_id or body.get("executionId")))
            if parent is None:
                return results
        results.append(_start(services, candidate, parent, ended))
    return results


def _start(
    services: Services, candidate: common.Candidate, parent: Execution, ended: str
) -> common.StartResult:
    parent_json: dict[str, Any] = parent.to_json()
    fields = {
        "parentExecution": parent_json,
        "parentPipelineId": parent.id,
        "parentPipelineName": parent.name,
        "parentPipelineApplication": parent.application,
        "parentStatus": ended,
        "user": parent.trigger.get("user") or candidate.trigger.get("runAsUser"),
        "eventId": parent.id,
        "correlationId": common.correlation(
            "pipeline", parent.id, candidate.config_id, candidate.trigger_key
        ),
    }
    trigger = common.build_trigger(candidate, fields)
    return common.start(services, candidate, trigger, source=SOURCE)
