"""Clouddriver's manifest reads as Gate serves them (Kubernetes): one live manifest with its
stability status, a cluster's manifests, and the dynamic target of a cluster by criteria."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from gennaker.api.deps import ServicesDep
from gennaker.api.models import ERRORS
from gennaker.api.responses import json_response
from gennaker.errors import InvalidInput, NotFound
from gennaker.providers.protocol import OperationError

router = APIRouter(tags=["infrastructure"], responses=ERRORS)


def _reader(services: Any, account: str) -> Any:
    found = services.clouddriver.registry.account(account)
    if found is None:
        raise NotFound(f"Account not found (name: {account})")
    provider = services.clouddriver.registry.get(found.cloud_provider)
    if not hasattr(provider, "manifest"):
        raise NotFound(f"account {account} ({provider.id}) has no manifests")
    return provider


async def _call(func: Any, *args: Any) -> Any:
    try:
        return await asyncio.to_thread(func, *args)
    except OperationError as exc:
        raise InvalidInput(str(exc)) from None


@router.get("/manifests/{account}/{location}/{name}", response_model=dict[str, Any])
async def manifest(account: str, location: str, name: str, services: ServicesDep) -> Any:
    """``{account, name, location, moniker, manifest, status:{stable, failed, available, paused}, artifacts, events}``;
    ``name`` is ``"<kind> <name>"`` (``_`` as the namespace of cluster-scoped kinds)."""
    provider = _reader(services, account)
    view = await _call(
        lambda: provider.manifest(account, "" if location == "_" else location, name, events=True)
    )
    if view is None:
        raise NotFound(f"Manifest not found (account: {account}, location: {location}, name: {name})")
    return json_response(view)


@router.get(
    "/manifests/{account}/{location}/{kind}/cluster/{application}/{cluster}",
    response_model=list[dict[str, Any]],
)
async def cluster_manifests(
    account: str, location: str, kind: str, application: str, cluster: str, services: ServicesDep
) -> Any:
    """The live manifests of ``kind`` in a cluster (``cluster`` as ``"<kind> <name>"``)."""
    provider = _reader(services, account)
    return json_response(
        await _call(provider.cluster_manifests, account, location, kind, application, cluster)
    )


@router.get(
    "/manifests/{account}/{location}/{kind}/cluster/{application}/{cluster}/dynamic/{criteria}",
    response_model=dict[str, Any],
)
async def dynamic_target(
    account: str,
    location: str,
    kind: str,
    application: str,
    cluster: str,
    criteria: str,
    services: ServicesDep,
) -> Any:
    """The manifest the criteria (newest, second_newest, oldest, largest, smallest) pick."""
    provider = _reader(services, account)
    found = await _call(provider.dynamic_target, account, location, kind, application, cluster, criteria)
    if found is None:
        raise NotFound(f"No {kind} in cluster {cluster} of {account}/{location} matches {criteria}")
    return json_response(found)
