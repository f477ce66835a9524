"""Accounts: Gate's ``GET /credentials`` (``?expand=true`` as Deck asks) and
``GET /credentials/{account}`` (what Orca and Kayenta read ``accountId`` from)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from gennaker.api.deps import ServicesDep
from gennaker.api.models import ERRORS
from gennaker.api.permissions import principal_of
from gennaker.api.responses import json_response
from gennaker.authz.model import Action
from gennaker.errors import NotFound
from gennaker.providers.health import with_health
from gennaker.services import Services

router = APIRouter(tags=["infrastructure"], responses=ERRORS)


def _with_permissions(services: Services, account: dict[str, Any]) -> dict[str, Any]:
    """Clouddriver's ``permissions`` of the account, from its configuration."""
    found = services.authz.evaluator.accounts.get(str(account.get("name")).lower())
    if found:
        account["permissions"] = {action.value: sorted(roles) for action, roles in found.items()}
    return account


@router.get("/credentials", response_model=list[dict[str, Any]])
def list_credentials(
    request: Request,
    services: ServicesDep,
    expand: Annotated[bool, Query(description="add regions and provider details")] = False,
) -> Any:
    """Every account of every cloud provider, by name."""
    who = principal_of(request)
    accounts = with_health(services.clouddriver, services.clouddriver.registry.accounts())
    if who is not None:
        read = services.authz.evaluator.account
        accounts = [a for a in accounts if read(who, a.name, Action.READ).allowed]
    return json_response([_with_permissions(services, a.to_json(expand=expand)) for a in accounts])


@router.get("/credentials/{account}", response_model=dict[str, Any])
def get_credentials(account: str, services: ServicesDep) -> Any:
    """One account, expanded; 404 if there is none of that name."""
    found = services.clouddriver.registry.account(account)
    if found is None:
        raise NotFound(f"Account not found (name: {account})")
    return json_response(
        _with_permissions(services, with_health(services.clouddriver, [found])[0].to_json(expand=True))
    )
