"""Operator actions on executions (§2.8): cancel, pause, resume, patch a stage (manual judgment,
skip a wait, manual skip), restart a stage, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from gennaker.api.deps import ServicesDep, UserDep
from gennaker.api.models import ERRORS
from gennaker.api.responses import json_response
from gennaker.api.views import execution_json

router = APIRouter(tags=["executions"], responses=ERRORS)


@router.put("/pipelines/{execution_id}/cancel", status_code=202)
def cancel(
    execution_id: str,
    services: ServicesDep,
    user: UserDep,
    reason: Annotated[str | None, Query(max_length=10_000)] = None,
    force: bool = False,
) -> Response:
    """Cancel a waiting or running execution (a finished one is left as it is)."""
    services.operations.cancel(execution_id, user=user or "anonymous", reason=reason)
    return Response(status_code=202)


@router.put("/pipelines/{execution_id}/pause", status_code=202)
def pause(execution_id: str, services: ServicesDep, user: UserDep) -> Response:
    """Pause a RUNNING execution (409 otherwise)."""
    services.operations.pause(execution_id, user=user)
    return Response(status_code=202)


@router.put("/pipelines/{execution_id}/resume", status_code=202)
def resume(execution_id: str, services: ServicesDep, user: UserDep) -> Response:
    """Resume a PAUSED execution (409 otherwise)."""
    services.operations.resume(execution_id, user=user)
    return Response(status_code=202)


@router.patch("/pipelines/{execution_id}/stages/{stage_id}", response_model=dict[str, Any])
def patch_stage(
    execution_id: str,
    stage_id: str,
    services: ServicesDep,
    user: UserDep,
    patch: Annotated[
        dict[str, Any],
        Body(
            description='e.g. {"judgmentStatus": "continue", "judgmentInput": "ship"} or {"skipRemainingWait": true}'
        ),
    ],
) -> Any:
    """Merge what Deck sends (judgment, skipRemainingWait, manualSkip) into a stage's context; other
    keys are refused (400). Returns the execution."""
    execution = services.operations.patch_stage(execution_id, stage_id, patch, user=user)
    return json_response(execution_json(execution))


@router.put("/pipelines/{execution_id}/stages/{stage_id}/restart", response_model=dict[str, Any])
def restart_stage(
    execution_id: str,
    stage_id: str,
    services: ServicesDep,
    user: UserDep,
    body: Annotated[
        dict[str, Any] | None, Body(description="ignored (Gate sends the current config)")
    ] = None,
) -> Any:
    """Run a finished top-level stage, and what follows it, again; returns the execution."""
    execution = services.operations.restart_stage(execution_id, stage_id, user=user)
    return json_response(execution_json(execution), status_code=202)


@router.delete("/pipelines/{execution_id}", status_code=204)
def delete_execution(execution_id: str, services: ServicesDep) -> Response:
    """Delete a finished execution (409 while it runs)."""
    services.operations.delete(execution_id)
    return Response(status_code=204)
