"""An application's pipelines, as Deck's executions view: each pipeline config with its newest
executions as rows of stage chips, filtered by status, pipeline and text; a trigger form per
pipeline generated from its ``parameterConfig``. The page's script re-reads the live parts when the
application's Server-Sent Events arrive."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gennaker.api.queries import newest_per_config
from gennaker.errors import NotFound
from gennaker.model.execution import Execution, Stage
from gennaker.model.status import ExecutionStatus
from gennaker.services import Services
from gennaker.web.graph import stage_order
from gennaker.web.templating import render
from gennaker.web.views import waiting_reason

router = APIRouter()

#: Executions shown per pipeline (Deck's default view shows a few; the rest are a click away).
DEFAULT_COUNT = 5
STATUS_FILTERS = ("RUNNING", "NOT_STARTED", "PAUSED", "SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED")


@dataclass
class Row:
    """One execution row: the execution and its top-level stages in reading order."""

    execution: Execution
    chips: list[Stage]
    waiting: dict[str, Any] | None


@dataclass
class PipelineGroup:
    """A pipeline config and its rows."""

    config: dict[str, Any]
    rows: list[Row] = field(default_factory=list)

    @property
    def parameters(self) -> list[dict[str, Any]]:
        """The config's parameterConfig entries that have a name."""
        params = self.config.get("parameterConfig")
        return (
            [p for p in params if isinstance(p, dict) and p.get("name")] if isinstance(params, list) else []
        )


def _matches(execution: Execution, words: list[str]) -> bool:
    parts = [execution.id, execution.name or "", str(execution.trigger.get("user") or "")]
    params = execution.trigger.get("parameters")
    if isinstance(params, dict):
        parts += [f"{k}={v}" for k, v in params.items()]
    parts += [s.name for s in execution.stages]
    text = " ".join(parts).lower()
    return all(w in text for w in words)


@router.get("/ui/applications/{application}/executions")
def executions_view(
    request: Request,
    application: str,
    status: Annotated[list[str] | None, Query()] = None,
    pipeline: str = "",
    q: str = "",
    count: Annotated[int, Query(ge=1, le=100)] = DEFAULT_COUNT,
) -> Response:
    """The application's pipelines with their recent executions."""
    services: Services = request.app.state.services
    statuses = [s.upper() for s in status or [] if s.upper() in ExecutionStatus.__members__]
    with services.db.read() as conn:
        try:
            app = services.applications.get(conn, application)
        except NotFound as exc:
            return render(request, "not_found.html", status_code=404, message=str(exc))
        configs = services.pipelines.list_by_application(conn, app["name"])
        ids: list[str] = []
        for name in dict.fromkeys((app["name"], app["name"].lower())):
            ids += newest_per_config(conn, application=name, statuses=statuses or None, limit=count)
        loaded = services.executions.load_many(conn, ids)
    groups = {str(c.get("id")): PipelineGroup(c) for c in configs}
    words = q.lower().split()
    for execution in loaded:
        if words and not _matches(execution, words):
            continue
        group = groups.get(execution.pipeline_config_id or "")
        if group is None:  # the config was deleted; its executions still show under their name
            key = "deleted:" + (execution.name or "?")
            group = groups.setdefault(key, PipelineGroup({"name": execution.name, "deleted": True}))
        group.rows.append(Row(execution, stage_order(execution.stages), waiting_reason(execution)))
    shown = [
        g
        for g in groups.values()
        if (not pipeline or g.config.get("name") == pipeline) and (g.rows or not (statuses or words))
    ]
    running = sum(1 for g in shown for r in g.rows if not r.execution.status.is_complete)
    return render(
        request,
        "executions.html",
        app=app,
        application=app["name"],
        groups=shown,
        pipeline_names=[str(c.get("name")) for c in configs],
        status_filters=STATUS_FILTERS,
        selected_statuses=statuses,
        pipeline=pipeline,
        q=q,
        count=count,
        running=running,
    )
