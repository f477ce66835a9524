"""Audit: every refused request and every allowed mutating request becomes an ``authz`` event
(``GET /events?type=authz``) naming the user, their roles, the action, the resource and the rule."""

from __future__ import annotations

from typing import Any

from gennaker import events
from gennaker.authz.model import Decision, Principal
from gennaker.clock import Clock
from gennaker.db import Database

AUTHZ_EVENT = "authz"


def audit(
    db: Database,
    clock: Clock,
    who: Principal,
    decision: Decision,
    *,
    request: str | None = None,
    application: str | None = None,
    execution_id: str | None = None,
) -> None:
    """Record one decision in the event log (its own short transaction)."""
    body: dict[str, Any] = {
        "decision": "allowed" if decision.allowed else "denied",
        "user": who.name,
        "roles": sorted(who.roles),
        "admin": who.admin,
        "action": decision.action.value,
        "resourceType": decision.resource_type,
        "resource": decision.resource,
        "rule": decision.rule,
    }
    if request:
        body["request"] = request
    with db.transaction() as conn:
        events.record(
            conn,
            ts=clock.now_ms(),
            type_=AUTHZ_EVENT,
            body=body,
            application=application,
            execution_id=execution_id,
        )
