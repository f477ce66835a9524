"""``GET /health`` (database and queue) and ``GET /metrics`` (Prometheus text format)."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from gennaker.api.deps import ServicesDep
from gennaker.api.metrics import MetricsCollector
from gennaker.api.responses import json_response
from gennaker.db import DatabaseUnavailable
from gennaker.providers.health import with_health

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


class Health(BaseModel):
    """The answer of ``GET /health``."""

    status: str
    database: str
    queue: dict[str, Any] | None = None
    #: Cloud accounts whose provider reports their health (Kubernetes clusters): ``{state, error?}``.
    accounts: dict[str, Any] | None = None
    #: With authorization on: each role provider's state (details for signed-in callers only).
    authz: dict[str, Any] | None = None
    error: str | None = None


@router.get(
    "/health",
    response_model=Health,
    response_model_exclude_none=True,
    responses={503: {"model": Health, "description": "the database is unreachable"}},
)
def health(services: ServicesDep, request: Request) -> Any:
    """UP when the database answers; the queue depth says how much work waits. Why the database
    is unreachable goes to the log, and to callers who sent valid credentials (or to everyone
    when authentication is off): it names hosts and ports."""
    try:
        services.db.ping()
        ready, in_flight = services.queue.depth()
    except (DatabaseUnavailable, sa.exc.OperationalError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.warning("health check: the database is unreachable: %s", detail)
        body: dict[str, Any] = {"status": "DOWN", "database": "unreachable"}
        trusted = not services.settings.auth.enabled or getattr(request.state, "user", None)
        if trusted:
            body["error"] = detail
        return json_response(body, 503)
    body = {"status": "UP", "database": "ok", "queue": {"ready": ready, "inFlight": in_flight}}
    accounts = {
        a.name: a.details["health"]
        for a in with_health(services.clouddriver, services.clouddriver.registry.accounts())
        if isinstance(a.details.get("health"), dict)
    }
    if accounts:
        body["accounts"] = accounts
    if services.authz.enabled:
        state = services.authz.health()
        if not getattr(request.state, "user", None):
            # Errors name the directory's host: only signed-in callers see them.
            state["roleProviders"] = {k: {"status": v["status"]} for k, v in state["roleProviders"].items()}
        body["authz"] = state
    return body


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> PlainTextResponse:
    """Prometheus metrics: executions started and finished, stage durations, queue depth and lag."""
    collector: MetricsCollector = request.app.state.metrics
    return PlainTextResponse(collector.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
