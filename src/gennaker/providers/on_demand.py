"""Clouddriver's on-demand cache refresh (``POST /cache/{cloudProvider}/{type}``, what Orca's
ServerGroupCacheForceRefreshTask calls after an operation): re-read one account now instead of
at the caching agent's next round, so that the next read sees the change.

Every provider here reads its accounts whole, so a refresh is done when the call returns: the
answer is 200 with the refreshed identifiers, never Clouddriver's 202 "pending", and there are no
pending refreshes to list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from gennaker.errors import FieldError, InvalidInput, NotFound
from gennaker.providers.cache import InfrastructureCache
from gennaker.providers.protocol import LOAD_BALANCERS, SERVER_GROUPS
from gennaker.providers.registry import ProviderRegistry, UnknownProvider


class RefreshTarget(Protocol):
    """What a refresh needs: the providers and the cache (``Clouddriver``, or the stages' port)."""

    @property
    def registry(self) -> ProviderRegistry: ...
    @property
    def cache(self) -> InfrastructureCache: ...


#: Clouddriver's OnDemandType values (matched case-insensitively, as its fromString does), and the
#: cache kind each names here (None: nothing of that type is cached by any provider here).
TYPES: dict[str, str | None] = {
    "servergroup": SERVER_GROUPS,
    "loadbalancer": LOAD_BALANCERS,
    "securitygroup": None,
    "targetgroup": None,
    "job": None,
    "manifest": None,
    "cloudformation": None,
    "function": None,
}
_NAME_KEYS = {SERVER_GROUPS: ("serverGroupName", "asgName"), LOAD_BALANCERS: ("loadBalancerName", "name")}


def kind_of(type_name: str) -> str | None:
    """The cache kind of an on-demand type; NotFound (Clouddriver's 404) for an unknown type."""
    key = type_name.lower()
    if key not in TYPES:
        raise NotFound(f"No matching OnDemandType found for {type_name!r} (one of: {', '.join(TYPES)})")
    return TYPES[key]


def _account(data: Mapping[str, Any]) -> str | None:
    value = data.get("account") or data.get("credentials") or data.get("accountName")
    return str(value) if value else None


async def force_refresh(
    clouddriver: RefreshTarget, cloud_provider: str, type_name: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """Refresh the account named in ``data`` (every account of the provider without one) and
    answer Clouddriver's ``{"cachedIdentifiersByType": {...}}``; the identifiers are those of the
    thing named in ``data`` when it exists (``<account>:<region>:<name>``)."""
    kind = kind_of(type_name)
    account = _account(data)
    provider_named(clouddriver, cloud_provider)
    provider = clouddriver.registry.provider_for(cloud_provider, account, where="$")
    accounts = [account] if account else [a.name for a in provider.accounts()]
    for name in accounts:
        await clouddriver.cache.refresh(provider, name)
    if kind is None:
        return {"cachedIdentifiersByType": {}}
    wanted = next((str(data[k]) for k in _NAME_KEYS[kind] if data.get(k)), None)
    if wanted is None:
        return {"cachedIdentifiersByType": {}}
    region = str(data["region"]) if data.get("region") else None
    identifiers = [
        f"{doc.get('account')}:{doc.get('region')}:{doc.get('name')}"
        for name in accounts
        for doc in clouddriver.cache.query(
            kind, account=name, name=wanted, region=region, cloud_provider=provider.id
        )
    ]
    return {"cachedIdentifiersByType": {kind: identifiers}}


def provider_named(clouddriver: RefreshTarget, cloud_provider: str) -> None:
    """NotFound unless a provider of this id is registered."""
    try:
        clouddriver.registry.get(cloud_provider)
    except UnknownProvider:
        known = ", ".join(p.id for p in clouddriver.registry) or "none"
        raise NotFound(f"no cloud provider {cloud_provider!r} (there are: {known})") from None


def check_body(data: Any) -> Mapping[str, Any]:
    """The request body as a mapping; InvalidInput otherwise."""
    if not isinstance(data, Mapping):
        raise InvalidInput(
            "", [FieldError("$", 'must be an object like {"account": ..., "serverGroupName": ...}')]
        )
    return data
