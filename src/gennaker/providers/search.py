"""Clouddriver's ``/search`` for infrastructure: server groups, load balancers, instances and
clusters by name, in Clouddriver's result shape (reference §2.7).

The API's ``GET /search`` answers applications and projects itself and calls ``search`` here for
the other types: ``search(services.clouddriver, q, type, page, page_size)`` returns the one
result set ``[{totalMatches, pageNumber, pageSize, platform, query, results}]``.
"""

from __future__ import annotations

from typing import Any

from gennaker.model.moniker import parse_name
from gennaker.providers.clouddriver import Clouddriver
from gennaker.providers.protocol import INSTANCES, LOAD_BALANCERS, SERVER_GROUPS

TYPES = ("serverGroups", "loadBalancers", "instances", "clusters")


def _item(kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    provider = doc.get("cloudProvider") or doc.get("type")
    base = {"type": kind, "provider": provider, "account": doc.get("account"), "region": doc.get("region")}
    if kind == "serverGroups":
        names = parse_name(str(doc["name"]))
        return {
            **base,
            "application": names.app,
            "cluster": names.cluster,
            "stack": names.stack,
            "detail": names.detail,
            "sequence": names.sequence,
            "serverGroup": doc["name"],
            "url": f"/serverGroups/{doc.get('account')}/{doc.get('region')}/{doc['name']}",
        }
    if kind == "instances":
        return {
            **base,
            "instanceId": doc["name"],
            "serverGroup": doc.get("serverGroup"),
            "application": doc.get("application"),
            "cluster": doc.get("cluster"),
            "url": f"/instances/{doc.get('account')}/{doc.get('region')}/{doc['name']}",
        }
    return {
        **base,
        "loadBalancer": doc["name"],
        "application": doc.get("application"),
        "vpcId": None,
        "url": f"/loadBalancers/{doc.get('account')}/{doc.get('region')}/{doc['name']}",
    }


def search(
    clouddriver: Clouddriver, query: str, type_: str | None, page: int = 1, page_size: int = 10_000
) -> list[dict[str, Any]]:
    """One result set of the infrastructure matching ``query`` (a substring of names, any case)."""
    kinds = [type_] if type_ else list(TYPES)
    results: list[dict[str, Any]] = []
    cache_kinds = {"serverGroups": SERVER_GROUPS, "loadBalancers": LOAD_BALANCERS, "instances": INSTANCES}
    wanted = [cache_kinds[k] for k in kinds if k in cache_kinds]
    if wanted:
        results += [_item(kind, doc) for kind, doc in clouddriver.cache.search(wanted, query or "", 100_000)]
    if "clusters" in kinds:
        seen = set()
        for _, doc in clouddriver.cache.search([SERVER_GROUPS], "", 100_000):
            key = (doc.get("account"), doc.get("cluster"))
            if key in seen or (query or "").lower() not in str(doc.get("cluster", "")).lower():
                continue
            seen.add(key)
            names = parse_name(str(doc.get("cluster")))
            results.append(
                {
                    "type": "clusters",
                    "provider": doc.get("cloudProvider"),
                    "account": doc.get("account"),
                    "application": names.app,
                    "cluster": doc.get("cluster"),
                    "stack": names.stack,
                }
            )
    start = max(0, (page - 1) * page_size)
    return [
        {
            "totalMatches": len(results),
            "pageNumber": page,
            "pageSize": page_size,
            "platform": "aws",
            "query": query,
            "results": results[start : start + page_size],
        }
    ]
