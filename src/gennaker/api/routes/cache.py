"""Clouddriver's on-demand cache endpoints (``/cache/{cloudProvider}/{type}``), which Orca calls
to see an operation's result at once instead of after the caching agent's next round."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from gennaker.api.deps import ServicesDep
from gennaker.api.models import ERRORS
from gennaker.api.responses import json_response
from gennaker.providers.on_demand import check_body, force_refresh, kind_of, provider_named

router = APIRouter(tags=["infrastructure"], responses=ERRORS)


@router.post("/cache/{cloud_provider}/{type_name}", response_model=dict[str, Any])
async def refresh(
    cloud_provider: str,
    type_name: str,
    services: ServicesDep,
    body: Annotated[Any, Body()] = None,
) -> Any:
    """Refresh the cache of the account in the body now; 200 with the refreshed identifiers."""
    data = check_body(body if body is not None else {})
    return json_response(await force_refresh(services.clouddriver, cloud_provider, type_name, data))


@router.get("/cache/{cloud_provider}/{type_name}", response_model=list[dict[str, Any]])
def pending(cloud_provider: str, type_name: str, services: ServicesDep) -> Any:
    """Pending on-demand refreshes: none (every refresh completes before its POST answers)."""
    kind_of(type_name)
    provider_named(services.clouddriver, cloud_provider)
    return json_response([])
