"""Incoming webhooks (Gate/Echo ``POST /webhooks/{type}/{source}``): generic ``webhook`` triggers,
git pushes from GitHub, GitLab and Bitbucket, and types that plugins register.

Answers ``{eventProcessed, eventId}`` (plus what each matched pipeline did). Refused: an unknown
type or git service (400), a body that is not JSON (400), a body over ``MAX_BODY_BYTES`` (413,
judged from Content-Length before reading, and by counting while reading), and a git delivery
whose signature fails a matching trigger's secret (401 without one, 403 with a wrong one).
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

#: Largest webhook body accepted (GitHub sends at most 25 MB, but pushes that large carry
#: thousands of commits nobody needs to trigger a pipeline).
MAX_BODY_BYTES = 5 * 1024 * 1024

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


class _TooLarge(Exception):
    pass


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise _TooLarge
    return bytes(body)


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
    try:
        raw = await _read_body(request)
    except _TooLarge:
        return _error(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
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
