"""Applications: Gate's ``GET /applications[/{app}]`` plus plain create-or-update and delete
(Gate itself creates and deletes through ``POST /tasks``; see routes/tasks.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from gennaker.api.deps import ServicesDep, UserDep
from gennaker.api.models import ERRORS
from gennaker.api.permissions import principal_of, require_body
from gennaker.authz.model import Action
from gennaker.errors import NotFound
from gennaker.store.applications import as_gate_application

router = APIRouter(tags=["applications"], responses=ERRORS)


@router.get("/applications", response_model=list[dict[str, Any]])
def list_applications(
    request: Request,
    services: ServicesDep,
    account: Annotated[str | None, Query(description="only applications using this account")] = None,
    owner: Annotated[str | None, Query(description="only applications with this owner email")] = None,
) -> Any:
    """Every application (Front50's flat objects), by name."""
    with services.db.read() as conn:
        found = services.applications.list(conn, account=account, owner=owner)
    who = principal_of(request)
    if who is None:
        return found
    read = services.authz.evaluator.application
    return [a for a in found if read(who, str(a.get("name")), a, Action.READ).allowed]


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
    request: Request,
    services: ServicesDep,
    user: UserDep,
    application: Annotated[dict[str, Any], Body(description="name, email, cloudProviders, ...")],
) -> Any:
    """Create an application, or merge these attributes into the existing one; returns it."""
    name = application.get("name")
    if isinstance(name, str) and name.strip():
        exists = services.authz.application_document(name.strip()) is not None
        require_body(request, services, name.strip(), Action.WRITE if exists else Action.CREATE)
    with services.db.transaction() as conn:
        return services.applications.upsert(conn, application, user=user)


@router.delete("/applications/{application}", status_code=204)
def delete_application(application: str, services: ServicesDep) -> Response:
    """Delete an application with its pipeline and strategy configs; 404 if absent."""
    with services.db.transaction() as conn:
        if not services.applications.delete(conn, application):
            raise NotFound(f"Application not found (id: {application})")
    return Response(status_code=204)
