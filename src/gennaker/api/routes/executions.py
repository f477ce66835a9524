"""Reading executions: one by id, an application's (Gate's per-config ``limit``), by config or id
(spin's ``execution list``), and a basic search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from gennaker.api.deps import ServicesDep, csv
from gennaker.api.models import ERRORS
from gennaker.api.permissions import readable_execution_ids
from gennaker.api.queries import execution_text, executions_text, newest_per_config
from gennaker.api.responses import json_response
from gennaker.api.views import execution_json
from gennaker.errors import InvalidInput, NotFound
from gennaker.model.execution import PIPELINE
from gennaker.model.redaction import redact_text
from gennaker.model.status import ExecutionStatus
from gennaker.store.executions import ExecutionQuery

router = APIRouter(tags=["executions"], responses=ERRORS)

Limit = Annotated[int, Query(ge=1, le=1000, description="per pipeline config")]
Statuses = Annotated[str | None, Query(description="comma-separated, e.g. RUNNING,SUCCEEDED")]
Expand = Annotated[bool, Query(description="include stage contexts and outputs")]
_STATUSES = {s.value for s in ExecutionStatus}


def _statuses(value: str | None) -> list[str] | None:
    items = csv(value)
    if items is None:
        return None
    upper = [s.upper() for s in items]
    unknown = [s for s in upper if s not in _STATUSES]
    if unknown:
        raise InvalidInput(
            f"unknown status {', '.join(unknown)}; statuses are {', '.join(sorted(_STATUSES))}"
        )
    return upper


@router.get("/pipelines/{execution_id}", response_model=dict[str, Any])
def get_execution(execution_id: str, services: ServicesDep) -> Any:
    """One execution, exactly as Spinnaker's execution JSON."""
    with services.db.read() as conn:
        text = execution_text(conn, execution_id)
    if text is None:
        raise NotFound(f"execution {execution_id} not found")
    return Response(redact_text(text), media_type="application/json")


@router.get("/applications/{application}/pipelines", response_model=list[dict[str, Any]])
def application_executions(
    application: str,
    services: ServicesDep,
    limit: Limit = 10,
    statuses: Statuses = None,
    expand: Expand = False,
) -> Any:
    """The newest ``limit`` executions of each of the application's pipelines, newest first."""
    wanted = _statuses(statuses)
    with services.db.read() as conn:
        apps = list(dict.fromkeys((application, application.lower())))
        ids: list[str] = []
        for app in apps:
            ids.extend(newest_per_config(conn, application=app, statuses=wanted, limit=limit))
        text = executions_text(conn, ids, expand=expand)
    return Response(redact_text(text), media_type="application/json")


@router.get("/executions", response_model=list[dict[str, Any]])
def executions(
    request: Request,
    services: ServicesDep,
    pipelineConfigIds: Annotated[str | None, Query(description="comma-separated config ids")] = None,
    executionIds: Annotated[str | None, Query(description="comma-separated execution ids")] = None,
    limit: Limit = 1,
    statuses: Statuses = None,
    expand: Expand = False,
) -> Any:
    """Executions of some pipeline configs (``limit`` per config) and/or with these ids, newest first."""
    config_ids, execution_ids = csv(pipelineConfigIds), csv(executionIds)
    if config_ids is None and execution_ids is None:
        raise InvalidInput("give pipelineConfigIds or executionIds (comma-separated)")
    wanted = _statuses(statuses)
    with services.db.read() as conn:
        ids: list[str] = []
        if config_ids is not None:
            ids.extend(newest_per_config(conn, config_ids=config_ids, statuses=wanted, limit=limit))
        if execution_ids is not None:
            query = ExecutionQuery(execution_ids=execution_ids, statuses=wanted, limit=len(execution_ids))
            ids.extend(i for i in services.executions.list_ids(conn, query) if i not in ids)
        newest_first = services.executions.list_ids(
            conn, ExecutionQuery(execution_ids=ids, limit=max(1, len(ids)))
        )
        newest_first = readable_execution_ids(request, services, conn, newest_first)
        text = executions_text(conn, newest_first, expand=expand)
    return Response(redact_text(text), media_type="application/json")


@router.get("/applications/{application}/executions/search", response_model=list[dict[str, Any]])
def search(
    application: str,
    services: ServicesDep,
    triggerTypes: Annotated[str | None, Query(description="comma-separated trigger types")] = None,
    pipelineName: str | None = None,
    eventId: str | None = None,
    statuses: Statuses = None,
    triggerTimeStartBoundary: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    triggerTimeEndBoundary: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    startIndex: Annotated[int, Query(ge=0, le=100_000)] = 0,
    size: Annotated[int, Query(ge=1, le=1000)] = 10,
    reverse: bool = False,
    expand: Expand = False,
) -> Any:
    """An application's executions filtered by trigger type, pipeline name, event id, status and
    build time, newest first (oldest first with ``reverse``), ``size`` from ``startIndex``."""
    types = {t.lower() for t in csv(triggerTypes) or []}
    query = ExecutionQuery(
        application=application.lower(),
        type=PIPELINE,
        statuses=_statuses(statuses),
        built_after=triggerTimeStartBoundary,
        built_before=None if triggerTimeEndBoundary is None else triggerTimeEndBoundary + 1,
        limit=5_000,
    )
    wanted = startIndex + size
    matches = []
    with services.db.read() as conn:
        ids = services.executions.list_ids(conn, query)
        if reverse:
            ids.reverse()
        for chunk in range(0, len(ids), 200):
            for e in services.executions.load_many(conn, ids[chunk : chunk + 200]):
                if (
                    (not types or str(e.trigger.get("type", "")).lower() in types)
                    and (pipelineName is None or (e.name or "").lower() == pipelineName.lower())
                    and (eventId is None or e.trigger.get("eventId") == eventId)
                ):
                    matches.append(e)
            if len(matches) >= wanted:
                break
    page = matches[startIndex:wanted]
    return json_response([execution_json(e, expand=expand) for e in page])
