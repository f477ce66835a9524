"""Projects: Gate's ``GET /projects[/{id}[/clusters|/pipelines]]`` and Front50's create, update
and delete (Deck itself writes projects through ``POST /tasks`` jobs ``upsertProject`` and
``deleteProject``, see admin_jobs.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from gennaker.api.deps import ServicesDep, UserDep, csv
from gennaker.api.models import ERRORS
from gennaker.api.permissions import readable_execution_ids
from gennaker.api.queries import executions_text, newest_per_config
from gennaker.errors import InvalidInput, NotFound
from gennaker.model.status import ExecutionStatus

router = APIRouter(tags=["projects"], responses=ERRORS)
_ZERO_COUNTS = {"total": 0, "up": 0, "down": 0, "outOfService": 0, "starting": 0, "unknown": 0}


@router.get("/projects", response_model=list[dict[str, Any]])
def list_projects(services: ServicesDep) -> Any:
    """Every project (Front50's Project JSON), by name."""
    with services.db.read() as conn:
        return services.projects.list(conn)


@router.get("/projects/{project}", response_model=dict[str, Any])
def get_project(project: str, services: ServicesDep) -> Any:
    """One project by name (any case) or id; 404 if absent."""
    with services.db.read() as conn:
        return services.projects.get(conn, project)


@router.get("/projects/{project}/clusters", response_model=list[dict[str, Any]])
def project_clusters(project: str, services: ServicesDep) -> Any:
    """Clouddriver's project clusters: one entry per configured cluster, with the server groups of
    its applications (none without a cloud provider, so counts are zero)."""
    with services.db.read() as conn:
        found = services.projects.get(conn, project)
    return [
        {
            "account": cluster.get("account"),
            "stack": cluster.get("stack"),
            "detail": cluster.get("detail"),
            "applications": [],
            "instanceCounts": dict(_ZERO_COUNTS),
        }
        for cluster in found["config"].get("clusters") or []
    ]


@router.get("/projects/{project}/pipelines", response_model=list[dict[str, Any]])
def project_pipelines(
    project: str,
    request: Request,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="per pipeline config")] = 5,
    statuses: Annotated[str | None, Query(description="comma-separated, e.g. RUNNING")] = None,
) -> Any:
    """The newest ``limit`` executions of each of the project's pipeline configs (Orca's
    ProjectController), newest first, without stage contexts."""
    wanted = [s.upper() for s in csv(statuses) or []]
    unknown = [s for s in wanted if s not in {x.value for x in ExecutionStatus}]
    if unknown:
        raise InvalidInput(f"unknown status {', '.join(unknown)}")
    with services.db.read() as conn:
        found = services.projects.get(conn, project)
        config_ids = [str(p["pipelineConfigId"]) for p in found["config"].get("pipelineConfigs") or []]
        ids = (
            newest_per_config(conn, config_ids=config_ids, statuses=wanted or None, limit=limit)
            if config_ids
            else []
        )
        ids = readable_execution_ids(request, services, conn, ids)
        text = executions_text(conn, ids, expand=False)
    return Response(text, media_type="application/json")


@router.post("/projects", response_model=dict[str, Any])
def create_project(
    services: ServicesDep,
    user: UserDep,
    project: Annotated[
        dict[str, Any], Body(description="name, email, config: {applications, clusters, pipelineConfigs}")
    ],
) -> Any:
    """Create a project (409 when the name is taken); returns it with its id."""
    with services.db.transaction() as conn:
        return services.projects.create(conn, project, user=user)


@router.put("/projects/{project_id}", response_model=dict[str, Any])
def update_project(
    project_id: str,
    services: ServicesDep,
    user: UserDep,
    project: Annotated[dict[str, Any], Body(description="the whole project")],
) -> Any:
    """Replace a project (it keeps its id and createTs); 404 if absent."""
    with services.db.transaction() as conn:
        return services.projects.update(conn, project_id, project, user=user)


@router.delete("/projects/{project_id}", status_code=202)
def delete_project(project_id: str, services: ServicesDep) -> Response:
    """Delete a project by id or name (Front50 answers 202); 404 if absent."""
    with services.db.transaction() as conn:
        if not services.projects.delete(conn, project_id):
            raise NotFound(f"Project not found (id: {project_id})")
    return Response(status_code=202)
