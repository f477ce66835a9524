"""Pipelines as code: ``GET /gitops`` (repositories, their state and last sync),
``GET /gitops/{repository}/plan`` (what a sync would change), ``POST /gitops/{repository}/sync``
(sync now) and ``GET /gitops/{repository}/syncs`` (the history of attempts)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query

from gennaker.api.deps import ServicesDep
from gennaker.api.models import ERRORS
from gennaker.errors import NotFound
from gennaker.gitops import state
from gennaker.gitops.settings import gitops_settings
from gennaker.gitops.sync import Gitops

router = APIRouter(prefix="/gitops", tags=["gitops"], responses=ERRORS)


@router.get("", response_model=list[dict[str, Any]])
def repositories(services: ServicesDep) -> Any:
    """Every configured repository with its last commit, status and sync attempt."""
    with services.db.read() as conn:
        return state.status(conn, gitops_settings(services.settings))


@router.get("/{repository}/plan", response_model=dict[str, Any])
async def plan(repository: str, services: ServicesDep) -> Any:
    """Fetch the branch and report what a sync would change and every file's problems; writes nothing."""
    report = await asyncio.to_thread(Gitops(services).plan, repository)
    return report.to_json()


@router.post("/{repository}/sync", response_model=dict[str, Any])
async def sync(repository: str, services: ServicesDep) -> Any:
    """Sync now: all of the newest commit is applied, or (status ``failed``) nothing."""
    report = await asyncio.to_thread(Gitops(services).sync, repository, reason="api")
    return report.to_json()


@router.get("/{repository}/syncs", response_model=list[dict[str, Any]])
def syncs(repository: str, services: ServicesDep, limit: Annotated[int, Query(ge=1, le=500)] = 20) -> Any:
    """A repository's sync attempts, newest first."""
    if gitops_settings(services.settings).repository(repository) is None:
        raise NotFound(f"no gitops repository {repository!r}")
    with services.db.read() as conn:
        return state.history(conn, repository, limit=limit)
