"""Live updates: ``GET /events/stream`` is a Server-Sent Events stream of execution and stage
transitions, from any process (see stream_hub.py for where they come from and how it wakes up).

Each event is ``id: <events row id>``, ``event: <type>`` (``pipeline.starting``, ``stage.complete``
...) and ``data: <JSON>``. A client that reconnects with ``Last-Event-ID`` gets what it missed;
a new one starts at the newest event. A comment line every 15 s keeps proxies from timing out.
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated

import anyio.to_thread
import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from gennaker.api.models import ERRORS
from gennaker.api.permissions import event_visibility
from gennaker.api.stream_hub import EventHub, StoredEvent

router = APIRouter(tags=["live updates"], responses=ERRORS)

HEARTBEAT_SECONDS = 15.0
BATCH = 500


def format_event(event: StoredEvent) -> bytes:
    """One SSE message."""
    data = orjson.dumps(event.to_json(), option=orjson.OPT_NON_STR_KEYS)
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.id, event.type.encode(), data)


def _visible(events: list[StoredEvent], visible: Callable[[str | None], bool]) -> list[StoredEvent]:
    return [e for e in events if visible(e.application)]


async def event_source(
    hub: EventHub,
    request: Request,
    after: int,
    application: str | None,
    execution_id: str | None,
    visible: Callable[[str | None], bool] = lambda _app: True,
) -> AsyncIterator[bytes]:
    """Yield SSE messages after event ``after`` until the client leaves or the server stops."""
    yield b"retry: 2000\n\n"
    last_sent = time.monotonic()
    while not hub.closing.is_set():
        read = functools.partial(
            hub.read_since, after, application=application, execution_id=execution_id, limit=BATCH
        )
        events, after = await anyio.to_thread.run_sync(read)
        allowed = await anyio.to_thread.run_sync(functools.partial(_visible, events, visible))
        for event in allowed:
            yield format_event(event)
            last_sent = time.monotonic()
        if events and len(events) == BATCH:
            continue
        if time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
            yield b": keep-alive\n\n"
            last_sent = time.monotonic()
        if await request.is_disconnected():
            return
        await hub.wait(min(hub.poll_seconds, HEARTBEAT_SECONDS))


@router.get(
    "/events/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "a stream of events"}},
)
async def stream(
    request: Request,
    application: Annotated[str | None, Query(description="only this application's events")] = None,
    executionId: Annotated[str | None, Query(description="only this execution's events")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Server-Sent Events of execution and stage transitions."""
    hub: EventHub = request.app.state.events
    after = None
    if last_event_id is not None and last_event_id.strip().isdigit():
        after = int(last_event_id.strip())
    if after is None:
        after = await anyio.to_thread.run_sync(hub.latest_id)
    return StreamingResponse(
        event_source(hub, request, after, application, executionId, event_visibility(request)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
