"""What this installation offers, as Deck asks for it on its main screens: the quiet period
(Echo's, via Gate's ``/capabilities/quietPeriod``), preconfigured run jobs (Orca's
``/jobs/preconfigured``) and Deck plugins (Gate's ``/plugins/deck/plugin-manifest.json``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gennaker.api.models import ERRORS

router = APIRouter(tags=["capabilities"], responses=ERRORS)


@router.get("/capabilities/quietPeriod", response_model=dict[str, Any])
def quiet_period() -> Any:
    """Echo's quiet period state; Gennaker has no quiet period, so it is never enabled (Deck's
    useQuietPeriod.hook.ts then shows no badge)."""
    return {"enabled": False, "inQuietPeriod": False, "startTime": -1, "endTime": -1}


@router.get("/jobs/preconfigured", response_model=list[dict[str, Any]])
def preconfigured_jobs() -> Any:
    """Orca's preconfigured run-job stages (none here: Gennaker's run jobs are configured in the
    pipeline), so Deck's stage picker offers only its own stage types."""
    return []


@router.get("/plugins/deck/plugin-manifest.json", response_model=list[dict[str, Any]])
def deck_plugin_manifest() -> Any:
    """Gate's list of Deck plugins to load ``[{id, version, url}]``: none."""
    return []
