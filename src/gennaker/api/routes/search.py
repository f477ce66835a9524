"""Gate's ``GET /search``: one page of results of the requested type(s), in Gate's shape, a list
of result sets ``[{totalMatches, pageNumber, pageSize, platform, query, results: [...]}]``
(Deck's search.service.ts reads the first). The sources are the app's SearchSources
(gennaker.api.search); a type without a source answers no results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from gennaker.api.deps import ServicesDep, csv
from gennaker.api.models import ERRORS
from gennaker.api.permissions import readable
from gennaker.api.search import SearchSources, matches_filters

router = APIRouter(tags=["search"], responses=ERRORS)
_PARAMETERS = {"q", "type", "platform", "pageSize", "page", "allowShortQuery", "cloudProvider"}


@router.get("/search", response_model=list[dict[str, Any]])
def search(
    request: Request,
    services: ServicesDep,
    q: Annotated[str, Query(max_length=1000, description="case-insensitive substring")] = "",
    type: Annotated[str | None, Query(description="result type(s), comma-separated; all when absent")] = None,
    platform: Annotated[str | None, Query(max_length=100)] = None,
    pageSize: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    allowShortQuery: bool = False,
) -> Any:
    """Search applications, projects, pipelines and whatever other sources are registered; other
    query parameters filter on result fields. Queries shorter than 3 characters answer ``[]``
    unless ``allowShortQuery`` (as Gate)."""
    if not allowShortQuery and len(q) < 3:
        return []
    sources: SearchSources = request.app.state.search_sources
    wanted = csv(type) or sources.types
    filters = {k: v for k, v in request.query_params.items() if k not in _PARAMETERS and v != ""}
    query = q.strip().lower()
    results: list[dict[str, Any]] = []
    with services.db.read() as conn:
        for name in wanted:
            source = sources.get(name)
            if source is None:
                continue
            results.extend(
                r for r in source.search(services, conn, query, filters) if matches_filters(r, filters)
            )
    may_read = readable(request, services)
    results = [r for r in results if may_read(_application_of(r))]
    start = (page - 1) * pageSize
    return [
        {
            "totalMatches": len(results),
            "pageNumber": page,
            "pageSize": pageSize,
            "platform": platform or "gennaker",
            "query": q,
            "results": results[start : start + pageSize],
        }
    ]


def _application_of(result: dict[str, Any]) -> str | None:
    """The application a search result belongs to (None: it belongs to none, like a project)."""
    value = result.get("application")
    return str(value) if isinstance(value, str) and value else None
