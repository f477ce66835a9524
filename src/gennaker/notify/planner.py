"""From an event to the notifications it asks for (Echo's notification agents, Orca's stage
notifications): the dispatcher calls ``plan`` for every event, and each matching notification
becomes a delivery row.

Pipeline-level notifications (the execution's ``notifications``, its trigger's and, for pipelines,
the application's ``pipeline.*`` notifications merged as Orca merges them) answer
``pipeline.starting``, ``pipeline.complete`` and ``pipeline.failed``. A stage's ``notifications``
(only when it says ``sendNotifications: true``) answer ``stage.starting``, ``stage.complete`` and
``stage.failed``, and for a ``manualJudgment`` stage also ``manualJudgment`` (it starts waiting;
repeated every ``notifyEveryMs`` while it waits), ``manualJudgmentContinue`` and
``manualJudgmentStop`` (its ``judgmentStatus`` once judged). ``message: {<when>: {text}}`` replaces
the default text; expressions in it are evaluated against the execution (and the stage).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from gennaker.events import EventRecord
from gennaker.model.execution import PIPELINE, Execution, Stage
from gennaker.notify import deliveries
from gennaker.store.app_notifications import merge_into_pipeline, pipeline_notifications

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from gennaker.services import Services

log = logging.getLogger(__name__)
Json = dict[str, Any]
PIPELINE_WHENS = ("pipeline.starting", "pipeline.complete", "pipeline.failed")
STAGE_WHENS = ("stage.starting", "stage.complete", "stage.failed")
MANUAL_JUDGMENT = "manualJudgment"


def whens(event_type: str, stage: Stage | None) -> list[str]:
    """The ``when`` values an event stands for."""
    if event_type in PIPELINE_WHENS:
        return [event_type]
    if event_type not in STAGE_WHENS or stage is None:
        return []
    found = [event_type]
    if stage.type == MANUAL_JUDGMENT:
        judgment = str(stage.context.get("judgmentStatus") or "").lower()
        if event_type == "stage.starting":
            found.append("manualJudgment")
        elif judgment == "continue":
            found.append("manualJudgmentContinue")
        elif judgment == "stop":
            found.append("manualJudgmentStop")
    return found


def execution_link(services: Services, execution: Execution) -> str:
    """Deck's page of the execution, on ``server.public_url`` (else the API's own address)."""
    server = services.settings.server
    base = (server.public_url or f"http://{server.host}:{server.port}").rstrip("/")
    return f"{base}/#/applications/{execution.application}/executions/details/{execution.id}"


def default_text(when: str, execution: Execution, stage: Stage | None) -> str:
    """The text sent when a notification has no custom message for ``when``."""
    pipeline = f"pipeline {execution.name or execution.id} of {execution.application}"
    stage_name = f"stage {stage.name} of {pipeline}" if stage is not None else pipeline
    status = execution.status.value
    texts = {
        "pipeline.starting": f"The {pipeline} is starting",
        "pipeline.complete": f"The {pipeline} succeeded",
        "pipeline.failed": f"The {pipeline} was canceled"
        if status == "CANCELED"
        else f"The {pipeline} failed ({status})",
        "stage.starting": f"The {stage_name} is starting",
        "stage.complete": f"The {stage_name} completed",
        "stage.failed": f"The {stage_name} failed",
        "manualJudgment": f"The {stage_name} is awaiting manual judgment",
        "manualJudgmentContinue": f"The {stage_name} was judged to continue",
        "manualJudgmentStop": f"The {stage_name} was judged to stop",
    }
    text = texts.get(when, f"{when}: {pipeline}")
    if stage is not None and when == "manualJudgment" and stage.context.get("instructions"):
        text += f"\nInstructions: {stage.context['instructions']}"
    return text


def _custom_text(
    entry: Mapping[str, Any], when: str, execution: Execution, stage: Stage | None
) -> str | None:
    message = entry.get("message")
    if not isinstance(message, Mapping):
        return None
    custom = message.get(when)
    text = custom.get("text") if isinstance(custom, Mapping) else custom if isinstance(custom, str) else None
    if not isinstance(text, str) or not text:
        return None
    if "${" not in text:
        return text
    try:
        from gennaker.expressions import build_root, evaluate

        execution_json = execution.to_json()
        root = build_root(dict(stage.context) if stage else {}, execution=execution_json)
        value = evaluate(text, root, execution=execution_json).value
        return value if isinstance(value, str) else str(value)
    except Exception:  # a broken expression must not lose the notification
        log.warning("notification message for %s of %s could not be evaluated", when, execution.id)
        return text


def _entries(
    execution: Execution, stage: Stage | None, when: str, application: list[Json]
) -> list[tuple[str, int, Json]]:
    if when in PIPELINE_WHENS:
        found: list[tuple[str, int, Json]] = []
        for origin, items in (
            ("pipeline", execution.notifications),
            ("trigger", execution.trigger.get("notifications")),
            ("application", application),
        ):
            if isinstance(items, list):
                found += [(origin, i, e) for i, e in enumerate(items) if isinstance(e, dict)]
        return [f for f in found if f[2].get("level") in (None, "pipeline", "application")]
    if stage is None:
        return []
    # A manual judgment's reminders go out whether or not the stage says sendNotifications (as the
    # manualJudgment stage records them); every other stage notification needs it.
    if when != "manualJudgment" and stage.context.get("sendNotifications") not in (True, "true"):
        return []
    items = stage.context.get("notifications")
    if not isinstance(items, list):
        return []
    return [(f"stage:{stage.id}", i, e) for i, e in enumerate(items) if isinstance(e, dict)]


def plan(services: Services, event: EventRecord, load: Callable[[str], Execution | None]) -> int:
    """Queue the deliveries ``event`` asks for; returns how many were queued now."""
    if not (event.type.startswith("pipeline.") or event.type.startswith("stage.")) or not event.execution_id:
        return 0
    if event.body.get("synthetic") is True:
        return 0
    execution = load(event.execution_id)
    if execution is None:
        return 0
    stage = execution.stage(str(event.body.get("stageId"))) if event.type.startswith("stage.") else None
    now = services.clock.now_ms()
    queued = 0
    with services.db.transaction() as conn:
        application = _application_entries(services, conn, execution) if stage is None else []
        for when in whens(event.type, stage):
            for origin, index, entry in _entries(execution, stage, when, application):
                if not wants(entry, when):
                    continue
                body = delivery_body(services, entry, when, execution, stage, event.id)
                key = f"ev:{event.id}:{origin}:{index}:{when}"
                queued += deliveries.enqueue(
                    conn, dedup_key=key[:255], channel=str(entry.get("type") or "").lower(),
                    address=_address(entry), application=execution.application, execution_id=execution.id,
                    event_type=when, body=body, now=now,
                )  # fmt: skip
    return queued


def _application_entries(services: Services, conn: Connection, execution: Execution) -> list[Json]:
    """The application's pipeline notifications this pipeline gets (Orca adds them to every
    PIPELINE execution of the application when it starts and ends; orchestrations get none)."""
    if execution.type != PIPELINE:
        return []
    stored = services.app_notifications.get(conn, execution.application)
    if not stored:
        return []
    own = [e for e in execution.notifications if isinstance(e, dict)]
    return merge_into_pipeline(own, pipeline_notifications(stored))


def wants(entry: Mapping[str, Any], when: str) -> bool:
    """The entry's ``when`` lists ``when``; an entry without one (Spinnaker's older manual judgment
    form) wants only the manualJudgment reminders."""
    wanted = entry.get("when")
    if isinstance(wanted, list) and wanted:
        return when in wanted
    return when == "manualJudgment"


def _address(entry: Mapping[str, Any]) -> str | None:
    address = entry.get("address")
    return str(address) if address not in (None, "") else None


def delivery_body(
    services: Services,
    entry: Mapping[str, Any],
    when: str,
    execution: Execution,
    stage: Stage | None,
    event_id: int,
) -> Json:
    """What a channel needs to send one notification (no secrets: those stay in the settings)."""
    text = _custom_text(entry, when, execution, stage) or default_text(when, execution, stage)
    body: Json = {
        "when": when,
        "level": "stage" if stage is not None else "pipeline",
        "eventId": event_id,
        "application": execution.application,
        "executionId": execution.id,
        "executionType": execution.type,
        "pipelineName": execution.name,
        "pipelineConfigId": execution.pipeline_config_id,
        "status": (stage.status if stage is not None else execution.status).value,
        "subject": default_text(when, execution, stage).split("\n")[0],
        "text": text,
        "link": execution_link(services, execution),
    }
    if stage is not None:
        body.update(stageId=stage.id, stageName=stage.name, stageType=stage.type)
    if entry.get("cc"):
        body["cc"] = str(entry["cc"])
    every = entry.get("notifyEveryMs")
    if when == "manualJudgment" and stage is not None and isinstance(every, int | float) and every > 0:
        body["repeat"] = {"everyMs": int(every), "sequence": 0}
    return body


def still_waiting(execution: Execution | None, stage_id: str) -> bool:
    """Whether a manual judgment stage still waits (its reminders are still wanted)."""
    stage = execution.stage(stage_id) if execution is not None else None
    return stage is not None and stage.status.value == "RUNNING" and not stage.context.get("judgmentStatus")
