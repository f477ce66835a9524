"""Applications: Gate's ``GET /applications[/{app}]`` plus plain create-or-update and delete
(Gate itself creates and deletes through ``POST /tasks``; see routes/tasks.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from gennaker.api.deps import ServicesDep, UserDep
from gennaker.api.models import ERRORS
from gennaker.errors import NotFound
from gennaker.store.applications import as_gate_application

router = APIRouter(tags=["applications"], responses=ERRORS)


@router.get("/applications", response_model=list[dict[str, Any]])
def list_applications(
    services: ServicesDep,
    account: Annotated[str | None, Query(description="only applications using this account")] = None,
    owner: Annotated[str | None, Query(description="only applications with this owner email")] = None,
) -> Any:
    """Every application (Front50's flat objects), by name."""
    with services.db.read() as conn:
        return services.applications.list(conn, account=account, owner=owner)


@router.get("/applications/{application}", response_model=dict[str, Any])
def get_application(
    application: str,
    services: ServicesDep,
    expand: Annotated[
        bool, Query(description="accepted for Gate compatibility (no clusters here yet)")
    ] = True,
) -> Any:
    """One application in Gate's shape ``{name, attributes, clusters}``; 404 if absent."""
    with services.db.read() as conn:
        app = services.applications.get(conn, application)
    return as_gate_application(app)


@router.post("/applications", response_model=dict[str, Any])
def save_application(
    services: ServicesDep,
    user: UserDep,
    application: Annotated[dict[str, Any], Body(description="name, email, cloudProviders, ...")],
) -> Any:
    """Create an application, or merge these attributes into the existing one; returns it."""
    with services.db.transaction() as conn:
        return services.applications.upsert(conn, application, user=user)


@router.delete("/applications/{application}", status_code=204)
def delete_application(application: str, services: ServicesDep) -> Response:
    """Delete an application with its pipeline and strategy configs; 404 if absent."""
    with services.db.transaction() as conn:
        if not services.applications.delete(conn, application):
            raise NotFound(f"Application not found (id: {application})")
    return Response(status_code=204)
