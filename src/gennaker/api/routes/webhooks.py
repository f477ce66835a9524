"""Incoming webhooks (Gate/Echo ``POST /webhooks/{type}/{source}``): generic ``webhook`` triggers,
git pushes from GitHub, GitLab and Bitbucket, and types that plugins register.

Answers ``{eventProcessed, eventId}`` (plus what each matched pipeline did). Refused: an unknown
type or git service (400), a body that is not JSON (400), and a git delivery whose signature fails
a matching trigger's secret (401 without one, 403 with a wrong one). The body cap of every route
(``server.max_body_bytes``, 413) applies here too.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from gennaker.gitops.webhook import on_git_delivery
from gennaker.services import Services
from gennaker.triggers import git, webhook
from gennaker.triggers.git_payloads import SOURCES as GIT_SOURCES
from gennaker.triggers.git_payloads import delivery_id
from gennaker.triggers.sources import TriggerSourceRegistry, build_registry

router = APIRouter(tags=["webhooks"])


def _error(status: int, message: str) -> Response:
    reasons = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 413: "Payload Too Large"}
    body = {
        "timestamp": time.time_ns() // 1_000_000,
        "status": status,
        "error": reasons.get(status, "Error"),
        "message": message,
    }
    return JSONResponse(body, status_code=status)


def get_services(request: Request) -> Services:
    """The Services object the app was built with (``app.state.services``)."""
    services: Services = request.app.state.services
    return services


def trigger_sources(request: Request, services: Services) -> TriggerSourceRegistry:
    """The app's trigger source registry (built on first use)."""
    registry = getattr(request.app.state, "trigger_sources", None)
    if not isinstance(registry, TriggerSourceRegistry):
        registry = build_registry(services)
        request.app.state.trigger_sources = registry
    return registry


def _event_id(type_: str, source: str, headers: dict[str, str], body: Any) -> str:
    if type_ == "git" and source in GIT_SOURCES:
        found = delivery_id(source, headers)
        if found:
            return found
    if headers.get("x-delivery-id"):
        return headers["x-delivery-id"]
    if isinstance(body, dict) and isinstance(body.get("eventId"), str) and body["eventId"]:
        return str(body["eventId"])
    return str(uuid.uuid4())


@router.post("/webhooks/{type_}/{source}", summary="Deliver an event that may trigger pipelines")
async def post_webhook(type_: str, source: str, request: Request) -> Response:
    """Match the event against every enabled trigger of its type and start what matches."""
    services = get_services(request)
    registry = trigger_sources(request, services)
    kind = type_.lower()
    handler = registry.webhook_handler(kind)
    if handler is None:
        known = ", ".join(registry.webhook_types)
        return _error(400, f"unknown webhook type {type_!r}; known types: {known}")
    if kind == "git" and source.lower() not in GIT_SOURCES:
        return _error(400, f"unknown git source {source!r}; expected one of {', '.join(GIT_SOURCES[:3])}")
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as exc:
        return _error(400, f"the body is not JSON: {exc}")
    headers = {k.lower(): v for k, v in request.headers.items()}
    event_id = _event_id(kind, source.lower(), headers, body)
    delivery = webhook.Delivery(
        type=kind,
        source=source.lower() if kind == "git" else source,
        body=body,
        headers=headers,
        raw=raw,
        event_id=event_id,
    )
    try:
        outcome = await asyncio.to_thread(handler, services, delivery)
    except git.SignatureRejected as exc:
        return _error(exc.status, exc.reason)
    answer: dict[str, Any] = {
        "eventProcessed": outcome.processed,
        "eventId": outcome.event_id,
        "pipelines": [r.to_json() for r in outcome.results],
    }
    if kind == "git":
        synced = await asyncio.to_thread(on_git_delivery, services, delivery)
        if synced:
            answer["gitops"] = synced
    return JSONResponse(answer)
