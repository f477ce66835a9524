"""Clouddriver's ``/search`` for infrastructure: server groups, load balancers, instances and
clusters by name, in Clouddriver's result shape (reference §2.7), from the infrastructure cache.

``GET /search`` (gennaker.api.routes.search) gets them through the ``register_search_sources``
hook below, one source per type; ``search(clouddriver, q, type, page, page_size)`` answers the
same as one result set, for callers outside the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from gennaker.hookspecs import hookimpl
from gennaker.model.moniker import parse_name
from gennaker.providers.clouddriver import Clouddriver
from gennaker.providers.protocol import INSTANCES, LOAD_BALANCERS, SERVER_GROUPS

TYPES = ("serverGroups", "loadBalancers", "instances", "clusters")
_CACHE_KINDS = {"serverGroups": SERVER_GROUPS, "loadBalancers": LOAD_BALANCERS, "instances": INSTANCES}
_LIMIT = 100_000


def _item(kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    provider = doc.get("cloudProvider") or doc.get("type")
    account, region, name = doc.get("account"), doc.get("region"), doc["name"]
    base = {"type": kind, "provider": provider, "account": account, "region": region}
    if kind == "serverGroups":
        names = parse_name(str(name))
        return {
            **base,
            "application": names.app,
            "cluster": names.cluster,
            "stack": names.stack,
            "detail": names.detail,
            "sequence": names.sequence,
            "serverGroup": name,
            "url": f"/serverGroups/{account}/{region}/{name}",
        }
    if kind == "instances":
        return {
            **base,
            "instanceId": name,
            "serverGroup": doc.get("serverGroup"),
            "application": doc.get("application"),
            "cluster": doc.get("cluster"),
            "url": f"/instances/{account}/{region}/{name}",
        }
    return {
        **base,
        "loadBalancer": name,
        "application": doc.get("application"),
        "vpcId": None,
        "url": f"/loadBalancers/{account}/{region}/{name}",
    }


def results(clouddriver: Clouddriver, query: str, kinds: list[str]) -> list[dict[str, Any]]:
    """Result items of these types whose name contains ``query`` (any case)."""
    found: list[dict[str, Any]] = []
    wanted = [_CACHE_KINDS[k] for k in kinds if k in _CACHE_KINDS]
    if wanted:
        found += [_item(kind, doc) for kind, doc in clouddriver.cache.search(wanted, query or "", _LIMIT)]
    if "clusters" in kinds:
        seen = set()
        for _, doc in clouddriver.cache.search([SERVER_GROUPS], "", _LIMIT):
            key = (doc.get("account"), doc.get("cluster"))
            if key in seen or (query or "").lower() not in str(doc.get("cluster", "")).lower():
                continue
            seen.add(key)
            names = parse_name(str(doc.get("cluster")))
            found.append(
                {
                    "type": "clusters",
                    "provider": doc.get("cloudProvider"),
                    "account": doc.get("account"),
                    "application": names.app,
                    "cluster": doc.get("cluster"),
                    "stack": names.stack,
                }
            )
    return found


def search(
    clouddriver: Clouddriver, query: str, type_: str | None, page: int = 1, page_size: int = 10_000
) -> list[dict[str, Any]]:
    """One result set of the infrastructure matching ``query`` (a substring of names, any case)."""
    items = results(clouddriver, query, [type_] if type_ else list(TYPES))
    start = max(0, (page - 1) * page_size)
    return [
        {
            "totalMatches": len(items),
            "pageNumber": page,
            "pageSize": page_size,
            "platform": "aws",
            "query": query,
            "results": items[start : start + page_size],
        }
    ]


class InfrastructureSource:
    """A ``GET /search`` source for one infrastructure type."""

    def __init__(self, type_: str) -> None:
        self.type = type_

    def search(
        self, services: Any, conn: Connection, query: str, filters: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """Matching documents of the infrastructure cache (the route applies ``filters``)."""
        clouddriver = getattr(services, "clouddriver", None)
        if not isinstance(clouddriver, Clouddriver):
            return []
        return results(clouddriver, query, [self.type])


@hookimpl(tryfirst=True)
def register_search_sources(sources: Any, settings: Any) -> None:
    """Add serverGroups, loadBalancers, instances and clusters to ``GET /search`` (first, so an
    installed plugin's source of the same type replaces the built-in one)."""
    for type_ in TYPES:
        sources.register(InfrastructureSource(type_))
