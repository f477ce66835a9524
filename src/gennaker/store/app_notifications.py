"""Application-level notifications (Front50's NotificationDAO at the application level).

Stored and returned as Front50 keeps them, a map from notification type to a list of
notifications, which Deck's NotificationsList.tsx writes back whole::

    {"application": "shop", "email": [{"type": "email", "address": "team@example.com",
     "level": "application", "when": ["pipeline.failed"]}], "slack": [...],
     "lastModified": 1700000000000, "lastModifiedBy": "alice"}

An application with none answers ``{}``, as Front50 does. Orca adds the ``pipeline.*`` entries to
every pipeline of the application when it starts and ends (``pipeline_notifications``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker.clock import Clock
from gennaker.errors import FieldError, InvalidInput
from gennaker.store import json as jsonlib
from gennaker.store.schema import application_notifications as notifications_t

Json = dict[str, Any]
ANONYMOUS = "anonymous"
_META_KEYS = ("application", "lastModified", "lastModifiedBy")


def validate_notifications(application: str, body: object) -> Json:
    """Front50's shape checked: every key but the metadata is a list of notification objects."""
    if not isinstance(body, dict):
        raise InvalidInput("application notifications must be a JSON object {type: [notification, ...]}")
    errors: list[FieldError] = []
    for key, value in body.items():
        if key in _META_KEYS:
            continue
        if not isinstance(value, list):
            errors.append(FieldError(f"$.{key}", "must be a list of notifications"))
            continue
        for index, entry in enumerate(value):
            path = f"$.{key}[{index}]"
            if not isinstance(entry, dict):
                errors.append(FieldError(path, "must be a notification object"))
            elif entry.get("when") is not None and not (
                isinstance(entry["when"], list) and all(isinstance(w, str) for w in entry["when"])
            ):
                errors.append(FieldError(f"{path}.when", "must be a list such as ['pipeline.failed']"))
    if errors:
        raise InvalidInput("", errors)
    out = {k: v for k, v in body.items() if k not in _META_KEYS}
    return {"application": application, **out}


class ApplicationNotificationRepository:
    """Reads and writes application notifications inside the caller's transaction."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def get(self, conn: Connection, application: str) -> Json:
        """The application's notifications, or ``{}`` when none were saved."""
        body = conn.execute(
            sa.select(notifications_t.c.body).where(notifications_t.c.application == application.lower())
        ).scalar()
        return {} if body is None else dict(jsonlib.loads(body))

    def save(self, conn: Connection, application: str, body: object, *, user: str | None = None) -> Json:
        """Replace the application's notifications (Front50's ``POST``)."""
        key = application.lower()
        document = validate_notifications(key, body)
        now = self._clock.now_ms()
        document.update(lastModified=now, lastModifiedBy=user or ANONYMOUS)
        text = jsonlib.dumps(document)
        updated = conn.execute(
            notifications_t.update()
            .where(notifications_t.c.application == key)
            .values(body=text, updated_at=now)
        ).rowcount
        if not updated:
            conn.execute(notifications_t.insert().values(application=key, body=text, updated_at=now))
        return document

    def delete(self, conn: Connection, application: str) -> bool:
        """Remove the application's notifications; False if there were none."""
        result = conn.execute(
            notifications_t.delete().where(notifications_t.c.application == application.lower())
        )
        return bool(result.rowcount)


def pipeline_notifications(stored: Mapping[str, Any]) -> list[Json]:
    """Orca's ApplicationNotifications.getPipelineNotifications: every stored notification with a
    ``pipeline.*`` when, keeping only those whens."""
    found: list[Json] = []
    for key, value in stored.items():
        if key in _META_KEYS or not isinstance(value, list):
            continue
        for entry in value:
            if not isinstance(entry, dict):
                continue
            whens = [w for w in entry.get("when") or [] if isinstance(w, str) and w.startswith("pipeline")]
            if whens:
                found.append({**copy.deepcopy(entry), "when": whens})
    return found


def merge_into_pipeline(
    pipeline: Sequence[Mapping[str, Any]], application: Sequence[Mapping[str, Any]]
) -> list[Json]:
    """The application notifications a pipeline gets (Orca's
    EchoNotifyingExecutionListener.addApplicationNotifications): a pipeline notification of the same
    type and address (or publisherName) overrides it, removing the whens it also lists."""
    added: list[Json] = []
    for app_entry in application:
        entry = dict(app_entry)
        match = next((p for p in pipeline if _same_target(p, entry)), None)
        if match is not None:
            found = match.get("when")
            taken: list[Any] = found if isinstance(found, list) else []
            entry["when"] = [w for w in entry.get("when") or [] if w not in taken]
            if not entry["when"]:
                continue
        added.append(entry)
    return added


def _same_target(pipeline: Mapping[str, Any], app: Mapping[str, Any]) -> bool:
    address = bool(app.get("address")) and pipeline.get("address") == app.get("address")
    publisher = bool(app.get("publisherName")) and pipeline.get("publisherName") == app.get("publisherName")
    same_type = bool(app.get("type")) and pipeline.get("type") == app.get("type")
    return (address or publisher) and same_type
