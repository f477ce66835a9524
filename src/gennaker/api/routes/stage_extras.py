"""Endpoints backed by stage types that other modules provide, when they are installed: a run-job
stage's logs and the preconfigured webhooks."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query

from gennaker.api.deps import ServicesDep
from gennaker.api.models import ERRORS
from gennaker.errors import NotFound

router = APIRouter(tags=["stages"], responses=ERRORS)


def _optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            return None
        raise


@router.get("/pipelines/{execution_id}/stages/{stage_id}/logs", response_model=dict[str, Any])
async def stage_logs(
    execution_id: str,
    stage_id: str,
    services: ServicesDep,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> Any:
    """A run-job stage's output from byte ``offset`` (404 when the stage has none)."""
    module = _optional("gennaker.stages.run_job_local")
    reader = getattr(module, "read_logs", None)
    if reader is None:
        raise NotFound("no logs for this stage")
    return await anyio.to_thread.run_sync(reader, services, execution_id, stage_id, offset)


@router.get("/webhooks/preconfigured", response_model=list[dict[str, Any]])
def preconfigured_webhooks(services: ServicesDep) -> Any:
    """The preconfigured webhook stages operators have set up (none when the module is absent)."""
    module = _optional("gennaker.stages.webhook_preconfigured")
    lister = getattr(module, "list_preconfigured", None)
    if lister is None:
        return []
    return lister(services.settings)
