"""Gate's tasks: ``POST /tasks`` (ad-hoc orchestrations; administrative jobs run at once, see
admin_jobs.py), ``GET /tasks/{id}``, an application's tasks, cancel and delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from gennaker.api.admin_jobs import decode_pipeline, is_admin, is_admin_job, run_admin_jobs
from gennaker.api.deps import ServicesDep, UserDep, csv
from gennaker.api.models import ERRORS, Ref, TaskRequest, TaskView
from gennaker.api.permissions import principal_of, require_account, require_body, require_config_save
from gennaker.api.responses import json_response
from gennaker.api.views import task_view
from gennaker.authz.model import Action
from gennaker.errors import FieldError, InvalidInput, NotFound
from gennaker.model.execution import ORCHESTRATION, Execution
from gennaker.model.status import ExecutionStatus
from gennaker.services import Services
from gennaker.store.executions import ExecutionQuery

router = APIRouter(tags=["tasks"], responses=ERRORS)


def _application(request: TaskRequest, path_app: str | None) -> str:
    if path_app:
        return path_app
    if request.application:
        return request.application
    for job in request.job:
        app = job.get("application")
        if isinstance(app, dict) and isinstance(app.get("name"), str):
            return str(app["name"]).strip().lower()
        if isinstance(app, str) and app:
            return app
    raise InvalidInput("", [FieldError("$.application", "is required (or a job naming its application)")])


def _job_application(job: dict[str, Any], default: str) -> str:
    app = job.get("application")
    if isinstance(app, dict) and isinstance(app.get("name"), str):
        return str(app["name"]).strip().lower()
    if isinstance(app, str) and app:
        return app
    return default


def _authorize(http: Request, services: Services, application: str, jobs: list[dict[str, Any]]) -> None:
    """WRITE on the task's application and on every account a job names (CREATE for a new
    application; a saved pipeline as ``POST /pipelines``), before anything runs."""
    if principal_of(http) is None:
        return
    checked: set[tuple[str, Action]] = set()
    for job in jobs:
        kind = job.get("type")
        target = _job_application(job, application)
        action = Action.WRITE
        if kind == "createApplication" and services.authz.application_document(target) is None:
            action = Action.CREATE
        if kind in ("savePipeline", "updatePipeline"):
            pipeline = decode_pipeline(job.get("pipeline"))
            require_config_save(http, services, pipeline)
            target = str(pipeline.get("application") or target)
        if kind in (
            "upsertProject",
            "deleteProject",
            "createV2PipelineTemplate",
            "updateV2PipelineTemplate",
            "deleteV2PipelineTemplate",
        ):
            continue  # shared objects, not an application's (as POST /projects, templates)
        if (target, action) not in checked:
            require_body(http, services, target, action)
            checked.add((target, action))
        for key in ("account", "credentials", "accountName"):
            value = job.get(key)
            if isinstance(value, str) and value:
                require_account(http, services, value, Action.WRITE)
    if not jobs:
        require_body(http, services, application, Action.WRITE)


def _submit(
    request: TaskRequest, services: Services, user: str | None, path_app: str | None, http: Request
) -> Any:
    application = _application(request, path_app)
    _authorize(http, services, application, list(request.job))
    description = request.description or ", ".join(str(j.get("type")) for j in request.job)
    if is_admin(request.job):
        execution = run_admin_jobs(services, application, description, request.job, user=user)
    elif any(is_admin_job(j) for j in request.job):
        raise InvalidInput(
            "",
            [FieldError("$.job", "administrative jobs cannot be mixed with other stage types in one task")],
        )
    else:
        execution = services.launcher.start_orchestration(application, description, request.job, user=user)
    return {"ref": f"/tasks/{execution.id}"}


@router.post("/tasks", response_model=Ref)
def submit_task(request: TaskRequest, http: Request, services: ServicesDep, user: UserDep) -> Any:
    """Run ``job`` as an ORCHESTRATION; poll ``GET /tasks/{id}`` for the outcome."""
    return _submit(request, services, user, None, http)


@router.post("/applications/{application}/tasks", response_model=Ref)
def submit_application_task(
    application: str, request: TaskRequest, http: Request, services: ServicesDep, user: UserDep
) -> Any:
    """``POST /tasks`` for one application."""
    return _submit(request, services, user, application, http)


def _orchestration(services: Services, task_id: str) -> Execution:
    with services.db.read() as conn:
        execution = services.executions.find(conn, task_id)
    if execution is None or execution.type != ORCHESTRATION:
        raise NotFound(f"task {task_id} not found")
    return execution


@router.get("/tasks/{task_id}", response_model=TaskView)
def get_task(task_id: str, services: ServicesDep) -> Any:
    """Gate's task view: status, merged variables, steps and the execution JSON."""
    return json_response(task_view(_orchestration(services, task_id)))


@router.get("/applications/{application}/tasks", response_model=list[TaskView])
def application_tasks(
    application: str,
    services: ServicesDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=3500, description="tasks per page")] = 3500,
    statuses: Annotated[str | None, Query(description="comma-separated, e.g. RUNNING,SUCCEEDED")] = None,
) -> Any:
    """The application's recorded tasks (ORCHESTRATION executions), newest first, each in the task
    view of ``GET /tasks/{id}`` (Orca's TaskController list)."""
    wanted = [s.upper() for s in csv(statuses) or []]
    known = {s.value for s in ExecutionStatus}
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise InvalidInput("", [FieldError("$.statuses", f"unknown status {', '.join(unknown)}")])
    query = ExecutionQuery(
        application=application,
        type=ORCHESTRATION,
        statuses=wanted or None,
        limit=page * limit,
    )
    with services.db.read() as conn:
        ids = services.executions.list_ids(conn, query)[(page - 1) * limit :]
        executions = services.executions.load_many(conn, ids)
    return json_response([task_view(e) for e in executions])


@router.put("/tasks/{task_id}/cancel", status_code=202)
def cancel_task(task_id: str, services: ServicesDep, user: UserDep) -> Response:
    """Cancel a running task (a finished one is left as it is)."""
    _orchestration(services, task_id)
    services.operations.cancel(task_id, user=user)
    return Response(status_code=202)


@router.delete("/tasks/{task_id}", status_code=204)
def delete_task(task_id: str, services: ServicesDep) -> Response:
    """Delete a finished task."""
    _orchestration(services, task_id)
    services.operations.delete(task_id)
    return Response(status_code=204)
