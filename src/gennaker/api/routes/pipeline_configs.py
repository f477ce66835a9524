"""Pipeline configs (Front50 through Gate): list, get, save (create or update by id), validate,
delete, revision history and restore, and which of a config's triggers can fire here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response

from gennaker.api.admin_jobs import availability, check_config, check_templated, guard_managed
from gennaker.api.deps import ServicesDep, UserDep
from gennaker.api.models import ERRORS, Valid
from gennaker.api.permissions import require_config_save
from gennaker.api.policy_checks import check_save
from gennaker.api.routes.webhooks import trigger_sources
from gennaker.errors import FieldError, InvalidInput, NotFound
from gennaker.model.pipeline import validate_pipeline
from gennaker.model.redaction import redact, restore
from gennaker.services import Services
from gennaker.triggers.docker_registry import docker_settings
from gennaker.triggers.status import trigger_status

router = APIRouter(tags=["pipeline configs"], responses=ERRORS)

ConfigBody = Annotated[dict[str, Any], Body(description="a Spinnaker pipeline config (JSON)")]


@router.get("/applications/{application}/pipelineConfigs", response_model=list[dict[str, Any]])
def list_configs(
    application: str,
    services: ServicesDep,
    pipelineNameFilter: Annotated[str | None, Query(description="names containing this")] = None,
) -> Any:
    """An application's pipeline configs in Front50's order (404 for an unknown application)."""
    with services.db.read() as conn:
        services.applications.get(conn, application)
        return redact(
            services.pipelines.list_by_application(conn, application, name_filter=pipelineNameFilter)
        )


@router.get("/applications/{application}/pipelineConfigs/{name}", response_model=dict[str, Any])
def get_config(application: str, name: str, services: ServicesDep) -> Any:
    """One pipeline config by application and name (both ignoring case)."""
    with services.db.read() as conn:
        return redact(services.pipelines.get_by_name(conn, application, name))


@router.get("/pipelineConfigs/{config_id}", response_model=dict[str, Any])
def get_config_by_id(config_id: str, services: ServicesDep) -> Any:
    """One pipeline config by id."""
    with services.db.read() as conn:
        return redact(services.pipelines.get(conn, config_id))


@router.post("/pipelines", response_model=dict[str, Any])
def save_config(
    config: ConfigBody,
    request: Request,
    services: ServicesDep,
    user: UserDep,
    staleCheck: Annotated[
        bool, Query(description="reject a body whose updateTs is not the stored one")
    ] = False,
) -> Any:
    """Create a pipeline config, or update the one with this ``id``; returns the stored config.

    Invalid configs are refused with 400 and every problem's JSON path."""
    require_config_save(request, services, config)
    check_save(services, config, kind="pipeline", user=user)
    with services.db.transaction() as conn:
        config = _with_stored_secrets(services, conn, config)
        check_config(services, conn, config)
        return redact(services.pipelines.save(conn, config, user=user, stale_check=staleCheck))


@router.post("/pipelines/validate", response_model=Valid)
def validate_config(config: ConfigBody, services: ServicesDep) -> Any:
    """Validate a pipeline config without saving it: 200 ``{valid: true}``, or 400 with the problems."""
    errors = validate_pipeline(config, availability=availability(services))
    if errors:
        raise InvalidInput("", errors)
    with services.db.read() as conn:
        check_templated(services, conn, config)
    check_save(services, config, kind="pipeline", user=None)
    return {"valid": True}


@router.put("/pipelines/{config_id}", response_model=dict[str, Any])
def update_config(
    config_id: str, config: ConfigBody, request: Request, services: ServicesDep, user: UserDep
) -> Any:
    """Update an existing pipeline config (the body's ``id``, if any, must be ``config_id``)."""
    if config.get("id") not in (None, "", config_id):
        raise InvalidInput("", [FieldError("$.id", f"must be {config_id!r}, the id in the path")])
    require_config_save(request, services, {**config, "id": config_id})
    check_save(services, config, kind="pipeline", user=user)
    with services.db.transaction() as conn:
        services.pipelines.get(conn, config_id)
        guard_managed(services, conn, config_id=config_id)
        config = _with_stored_secrets(services, conn, {**config, "id": config_id})
        check_config(services, conn, config)
        return redact(services.pipelines.save(conn, config, user=user))


@router.delete("/pipelines/{application}/{name}", status_code=204)
def delete_config(application: str, name: str, services: ServicesDep) -> Response:
    """Delete a pipeline config (and its history) by application and name."""
    with services.db.transaction() as conn:
        guard_managed(services, conn, application=application, name=name)
        if not services.pipelines.delete_by_name(conn, application, name):
            raise NotFound(f"No pipeline found with application {application}, name {name}")
    return Response(status_code=204)


@router.get("/pipelineConfigs/{config_id}/history", response_model=list[dict[str, Any]])
def history(
    config_id: str,
    services: ServicesDep,
    response: Response,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> Any:
    """Saved versions of a config, newest (the current one) first. Header ``X-Gennaker-Revisions``
    lists their revision numbers in the same order, for ``.../history/{revision}/restore``."""
    with services.db.read() as conn:
        revisions = services.pipelines.history(conn, config_id, limit=limit)
        if not revisions:
            services.pipelines.get(conn, config_id)
    response.headers["X-Gennaker-Revisions"] = ",".join(str(r.revision) for r in revisions)
    return [redact(r.body) for r in revisions]


@router.get("/pipelineConfigs/{config_id}/history/{revision}", response_model=dict[str, Any])
def get_revision(
    config_id: str, services: ServicesDep, revision: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Any:
    """One saved version of a config."""
    with services.db.read() as conn:
        return redact(services.pipelines.get_revision(conn, config_id, revision).body)


@router.post("/pipelineConfigs/{config_id}/history/{revision}/restore", response_model=dict[str, Any])
def restore_revision(
    config_id: str,
    services: ServicesDep,
    user: UserDep,
    revision: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Any:
    """Save an old version as the newest revision; returns the stored config."""
    with services.db.transaction() as conn:
        guard_managed(services, conn, config_id=config_id)
        return redact(services.pipelines.restore(conn, config_id, revision, user=user))


def _with_stored_secrets(services: Any, conn: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Reads show secrets redacted; a config saved back with the placeholder keeps the stored value."""
    config_id = config.get("id")
    stored = services.pipelines.find(conn, str(config_id)) if config_id else None
    return restore(config, stored)


def _trigger_status(request: Request, services: Services, config: dict[str, Any]) -> list[dict[str, Any]]:
    webhook_types = trigger_sources(request, services).webhook_types
    accounts = [a.name for a in docker_settings(services.settings).accounts]
    return trigger_status(config, webhook_types, accounts)


@router.get("/pipelineConfigs/{config_id}/triggerStatus", response_model=list[dict[str, Any]])
def trigger_status_by_id(config_id: str, request: Request, services: ServicesDep) -> Any:
    """Each trigger of the config: ``{index, type, enabled, active, reason}``; an inactive one
    (a type with no source here, disabled, an unconfigured docker account) says why."""
    with services.db.read() as conn:
        config = services.pipelines.get(conn, config_id)
    return _trigger_status(request, services, config)


@router.get(
    "/applications/{application}/pipelineConfigs/{name}/triggerStatus", response_model=list[dict[str, Any]]
)
def trigger_status_by_name(application: str, name: str, request: Request, services: ServicesDep) -> Any:
    """``/pipelineConfigs/{id}/triggerStatus`` by application and pipeline name."""
    with services.db.read() as conn:
        config = services.pipelines.get_by_name(conn, application, name)
    return _trigger_status(request, services, config)
