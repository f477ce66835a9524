"""One execution: its header (status, trigger, what it waits for, actions), the stage graph and
the selected stage's panel (context, outputs, tasks, the failure in plain words, the run-job log,
the webhook's request and response, evaluated expressions, the stage's actions)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gennaker.errors import NotFound
from gennaker.services import Services
from gennaker.store.executions import ExecutionNotFound
from gennaker.web import views
from gennaker.web.graph import NODE_HEIGHT, NODE_WIDTH, LayoutCache, execution_graph
from gennaker.web.templating import render

router = APIRouter()

#: Context keys the panel shows in their own sections, not again in the context dump.
SHOWN_APART = ("exception", "expressionEvaluationSummary", "webhook")


@router.get("/ui/applications/{application}/executions/{execution_id}")
def execution_view(request: Request, application: str, execution_id: str, stage: str = "") -> Response:
    """The execution's details; ``stage`` (a stage id) selects the stage panel."""
    services: Services = request.app.state.services
    with services.db.read() as conn:
        try:
            execution = services.executions.load(conn, execution_id)
        except (NotFound, ExecutionNotFound) as exc:
            return render(request, "not_found.html", status_code=404, message=str(exc))
    cache = getattr(request.app.state, "web_layouts", None)
    if cache is None:
        cache = request.app.state.web_layouts = LayoutCache()
    graph = execution_graph(execution.stages, cache)
    selected = execution.stage(stage) if stage else views.default_stage(execution)
    if selected is not None and selected.parent_stage_id is not None and not stage:
        selected = None
    context = {}
    if selected is not None:
        context = {k: v for k, v in selected.context.items() if k not in SHOWN_APART}
    return render(
        request,
        "execution.html",
        application=execution.application,
        execution=execution,
        graph=graph,
        node_width=NODE_WIDTH,
        node_height=NODE_HEIGHT,
        selected=selected,
        selected_context=context,
        problems=views.stage_problems(selected) if selected is not None else [],
        waiting=views.waiting_reason(execution),
        trigger_facts=views.trigger_facts(execution),
        views=views,
    )
