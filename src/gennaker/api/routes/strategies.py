"""Deploy-strategy configs (Front50's strategies through Gate): the same shape as pipeline configs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from gennaker.api.admin_jobs import check_config
from gennaker.api.deps import ServicesDep, UserDep
from gennaker.api.models import ERRORS
from gennaker.api.permissions import require_config_save
from gennaker.errors import NotFound

router = APIRouter(tags=["strategy configs"], responses=ERRORS)


@router.get("/applications/{application}/strategyConfigs", response_model=list[dict[str, Any]])
def list_strategies(application: str, services: ServicesDep) -> Any:
    """An application's strategy configs."""
    with services.db.read() as conn:
        services.applications.get(conn, application)
        return services.strategies.list_by_application(conn, application)


@router.get("/applications/{application}/strategyConfigs/{name}", response_model=dict[str, Any])
def get_strategy(application: str, name: str, services: ServicesDep) -> Any:
    """One strategy config by application and name."""
    with services.db.read() as conn:
        return services.strategies.get_by_name(conn, application, name)


@router.post("/strategies", response_model=dict[str, Any])
def save_strategy(
    config: Annotated[dict[str, Any], Body(description="a strategy config")],
    request: Request,
    services: ServicesDep,
    user: UserDep,
) -> Any:
    """Create a strategy config, or update the one with this ``id``."""
    require_config_save(request, services, config, kind="strategy")
    with services.db.transaction() as conn:
        check_config(services, conn, config)
        return services.strategies.save(conn, config, user=user)


@router.delete("/strategies/{application}/{name}", status_code=204)
def delete_strategy(application: str, name: str, services: ServicesDep) -> Response:
    """Delete a strategy config by application and name."""
    with services.db.transaction() as conn:
        if not services.strategies.delete_by_name(conn, application, name):
            raise NotFound(f"No strategy found with application {application}, name {name}")
    return Response(status_code=204)


@router.get("/strategyConfigs/{config_id}/history", response_model=list[dict[str, Any]])
def strategy_history(config_id: str, services: ServicesDep) -> Any:
    """Saved versions of a strategy config, newest first."""
    with services.db.read() as conn:
        revisions = services.strategies.history(conn, config_id)
        if not revisions:
            services.strategies.get(conn, config_id)
    return [r.body for r in revisions]
