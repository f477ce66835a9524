"""The event log: ``GET /events`` lists execution and stage transitions, trigger firings and
rejections, and notification deliveries.

Filters: ``application``, ``type`` (comma-separated; ``trigger.*`` matches a prefix), ``since``
(epoch ms, inclusive), ``executionId``, ``limit`` (default 100, at most 1000). Order: newest
first, paged backwards with ``before=<id>``; or, with ``after=<id>``, oldest first from that id
(to follow the log: pass the last id seen).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse

from gennaker import events
from gennaker.api.permissions import event_visibility
from gennaker.services import Services

router = APIRouter(tags=["events"])


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


@router.get("/events", summary="List recorded events")
async def list_events(
    request: Request,
    application: str | None = None,
    type: Annotated[
        str | None, Query(description="comma-separated types; a trailing * matches a prefix")
    ] = None,
    since: Annotated[int | None, Query(ge=0, description="epoch ms, inclusive")] = None,
    executionId: str | None = None,
    after: Annotated[int | None, Query(ge=0, description="oldest first, ids above this")] = None,
    before: Annotated[int | None, Query(ge=1, description="newest first, ids below this")] = None,
    limit: Annotated[int, Query(ge=1, le=events.MAX_LIMIT)] = 100,
) -> JSONResponse:
    """Events matching the filters."""
    services = _services(request)
    query = events.EventQuery(
        application=application or None,
        types=tuple(t.strip() for t in (type or "").split(",") if t.strip()),
        since=since,
        execution_id=executionId or None,
        after_id=after,
        before_id=before,
        limit=limit,
    )

    def load() -> list[events.EventRecord]:
        with services.db.read() as conn:
            return events.list_events(conn, query)

    found = await asyncio.to_thread(load)
    visible = event_visibility(request)
    allowed = await asyncio.to_thread(lambda: [r for r in found if visible(r.application)])
    return JSONResponse([record.to_json() for record in allowed])
