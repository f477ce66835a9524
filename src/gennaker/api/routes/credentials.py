"""Accounts: Gate's ``GET /credentials`` (``?expand=true`` as Deck asks) and
``GET /credentials/{account}`` (what Orca and Kayenta read ``accountId`` from)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gennaker.api.deps import ServicesDep
from gennaker.api.models import ERRORS
from gennaker.api.responses import json_response
from gennaker.errors import NotFound
from gennaker.providers.health import with_health

router = APIRouter(tags=["infrastructure"], responses=ERRORS)


@router.get("/credentials", response_model=list[dict[str, Any]])
def list_credentials(
    services: ServicesDep,
    expand: Annotated[bool, Query(description="add regions and provider details")] = False,
) -> Any:
    """Every account of every cloud provider, by name."""
    accounts = with_health(services.clouddriver, services.clouddriver.registry.accounts())
    return json_response([a.to_json(expand=expand) for a in accounts])


@router.get("/credentials/{account}", response_model=dict[str, Any])
def get_credentials(account: str, services: ServicesDep) -> Any:
    """One account, expanded; 404 if there is none of that name."""
    found = services.clouddriver.registry.account(account)
    if found is None:
        raise NotFound(f"Account not found (name: {account})")
    return json_response(with_health(services.clouddriver, [found])[0].to_json(expand=True))
