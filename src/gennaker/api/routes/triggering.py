"""Starting pipelines (§6.2): by application and name or id (spin), Deck's v2 variant, and a full
config in the body (``/pipelines/start``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from gennaker.api.deps import ServicesDep, UserDep
from gennaker.api.models import ERRORS, EventRef, Ref, Trigger
from gennaker.api.permissions import require_body
from gennaker.api.responses import json_response
from gennaker.authz.model import Action
from gennaker.errors import FieldError, InvalidInput, NotFound
from gennaker.model.ids import new_ulid
from gennaker.services import Services

router = APIRouter(tags=["executions"], responses=ERRORS)

TriggerBody = Annotated[
    Trigger | None, Body(description="the manual trigger: type, parameters, artifacts ...")
]


def find_config(services: Services, application: str, name_or_id: str) -> dict[str, Any]:
    """The application's pipeline config with this name (ignoring case), else with this id."""
    with services.db.read() as conn:
        found = services.pipelines.find(conn, name_or_id)
        if found is not None and str(found.get("application", "")).lower() == application.lower():
            return found
        try:
            return services.pipelines.get_by_name(conn, application, name_or_id)
        except NotFound:
            raise NotFound(
                f"pipeline {name_or_id!r} not found in application {application!r} (by name or id)"
            ) from None


def _trigger(body: Trigger | None, user: str | None) -> dict[str, Any]:
    trigger = body.model_dump(exclude_none=True) if body is not None else {}
    trigger.setdefault("type", "manual")
    if user is not None:
        trigger["user"] = user
    return trigger


@router.post("/pipelines/{application}/{name_or_id}", status_code=202, response_model=Ref)
def start(
    application: str, name_or_id: str, services: ServicesDep, user: UserDep, trigger: TriggerBody = None
) -> Any:
    """Start a pipeline with a manual trigger; 202 ``{ref: "/pipelines/<id>"}``."""
    config = find_config(services, application, name_or_id)
    execution = services.launcher.start_pipeline(config, _trigger(trigger, user), user=user)
    return json_response({"ref": f"/pipelines/{execution.id}"}, status_code=202)


@router.post("/applications/{application}/pipelineConfigs/{name}", status_code=202, response_model=Ref)
def start_by_name(
    application: str, name: str, services: ServicesDep, user: UserDep, trigger: TriggerBody = None
) -> Any:
    """Gate's older start-by-name; same as ``POST /pipelines/{application}/{name}``."""
    return start(application, name, services, user, trigger)


@router.post("/pipelines/v2/{application}/{name_or_id}", status_code=202, response_model=EventRef)
def start_v2(
    application: str, name_or_id: str, services: ServicesDep, user: UserDep, trigger: TriggerBody = None
) -> Any:
    """Deck's start: 202 ``{eventId, ref}``; the trigger carries the event id."""
    config = find_config(services, application, name_or_id)
    event_id = str(uuid.uuid4())
    body = _trigger(trigger, user)
    body["eventId"] = event_id
    execution_id = new_ulid(services.clock.now_ms())
    execution = services.launcher.start_pipeline(config, body, user=user, execution_id=execution_id)
    return json_response({"eventId": event_id, "ref": f"/pipelines/{execution.id}"}, status_code=202)


@router.post("/pipelines/start", status_code=202, response_model=Ref)
def start_config(
    config: Annotated[
        dict[str, Any], Body(description="a full pipeline config; its 'trigger' key is the trigger")
    ],
    request: Request,
    services: ServicesDep,
    user: UserDep,
) -> Any:
    """Start a pipeline from the config in the body (not necessarily saved)."""
    require_body(request, services, str(config.get("application") or ""), Action.EXECUTE)
    body = dict(config)
    raw = body.pop("trigger", None)
    if raw is not None and not isinstance(raw, dict):
        raise InvalidInput("", [FieldError("$.trigger", "must be an object")])
    trigger = dict(raw or {})
    trigger.setdefault("type", "manual")
    if user is not None:
        trigger["user"] = user
    execution = services.launcher.start_pipeline(body, trigger, user=user)
    return json_response({"ref": f"/pipelines/{execution.id}"}, status_code=202)
