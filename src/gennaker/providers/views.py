"""Gate's infrastructure read endpoints over the infrastructure cache (reference §2): clusters,
server groups (summary and full), load balancers, instances, images. Provider-agnostic: every
provider's caching agent writes Clouddriver-shaped documents, and these functions group them."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from gennaker.model.moniker import parse_name
from gennaker.providers.clouddriver import Clouddriver
from gennaker.providers.protocol import IMAGES, INSTANCES, LOAD_BALANCERS, SERVER_GROUPS

_SUMMARY_KEYS = (
    "name",
    "account",
    "region",
    "cluster",
    "type",
    "cloudProvider",
    "application",
    "isDisabled",
    "disabled",
    "moniker",
    "createdTime",
    "capacity",
    "instanceCounts",
    "loadBalancers",
    "securityGroups",
    "serverGroupManagers",
    "buildInfo",
    "providerMetadata",
)


def _summary_health(health: Mapping[str, Any]) -> dict[str, Any]:
    entry = {k: health[k] for k in ("type", "state", "status") if k in health}
    if "loadBalancers" in health:
        entry["loadBalancers"] = [
            {
                "name": lb.get("name") or lb.get("loadBalancerName"),
                "state": lb.get("state"),
                "description": lb.get("description"),
                "healthState": lb.get("healthState"),
            }
            for lb in health["loadBalancers"]
        ]
    return entry


def server_group_summary(group: Mapping[str, Any]) -> dict[str, Any]:
    """Clouddriver's ServerGroupViewModel (the list endpoint's item)."""
    data = {k: group[k] for k in _SUMMARY_KEYS if k in group}
    data["application"] = parse_name(str(group["name"])).app or group.get("application")
    data["instances"] = [
        {
            "id": i["name"],
            "name": i.get("humanReadableName") or i["name"],
            "healthState": i.get("healthState"),
            "launchTime": i.get("launchTime"),
            "availabilityZone": i.get("availabilityZone") or i.get("zone"),
            "health": [_summary_health(h) for h in i.get("health") or []],
        }
        for i in group.get("instances") or []
    ]
    return data


def _expanded(group: Mapping[str, Any]) -> dict[str, Any]:
    names = parse_name(str(group["name"]))
    return {
        **group,
        "accountName": group.get("account"),
        "cluster": names.cluster,
        "application": names.app,
        "stack": names.stack or "",
        "freeFormDetail": names.detail or "",
    }


class Infrastructure:
    """What the read endpoints answer."""

    def __init__(self, clouddriver: Clouddriver) -> None:
        self.cache = clouddriver.cache

    def server_groups(
        self,
        application: str,
        *,
        expand: bool = False,
        cloud_provider: str | None = None,
        clusters: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """``/applications/{app}/serverGroups`` (``clusters`` = ``account:cluster`` pairs)."""
        groups = self.cache.query(SERVER_GROUPS, application=application, cloud_provider=cloud_provider)
        if clusters is not None:
            wanted = set(clusters)
            groups = [g for g in groups if f"{g.get('account')}:{g.get('cluster')}" in wanted]
        return [_expanded(g) if expand else server_group_summary(g) for g in groups]

    def clusters(self, application: str) -> dict[str, list[str]]:
        """``/applications/{app}/clusters``: cluster names by account."""
        result: dict[str, list[str]] = {}
        for group in self.cache.query(SERVER_GROUPS, application=application):
            names = result.setdefault(str(group["account"]), [])
            if group["cluster"] not in names:
                names.append(str(group["cluster"]))
        return {k: sorted(v) for k, v in result.items()}

    def clusters_in(self, application: str, account: str) -> list[dict[str, Any]]:
        """``/applications/{app}/clusters/{account}``: name, account, moniker and member names."""
        found: dict[str, dict[str, Any]] = {}
        for group in self.cache.query(SERVER_GROUPS, application=application, account=account):
            entry = found.setdefault(
                str(group["cluster"]),
                {
                    "name": group["cluster"],
                    "account": account,
                    "type": group.get("type"),
                    "moniker": {
                        "app": application,
                        "cluster": group["cluster"],
                        **{k: v for k, v in (group.get("moniker") or {}).items() if k in ("stack", "detail")},
                    },
                    "loadBalancers": [],
                    "serverGroups": [],
                },
            )
            entry["serverGroups"].append(group["name"])
            for lb in group.get("loadBalancers") or []:
                if lb not in entry["loadBalancers"]:
                    entry["loadBalancers"].append(lb)
        return list(found.values())

    def cluster(
        self, application: str, account: str, cluster: str, cloud_provider: str | None = None
    ) -> dict[str, Any] | None:
        """One cluster with its full server groups and their load balancers."""
        groups = [
            g
            for g in self.cache.query(
                SERVER_GROUPS, application=application, account=account, cloud_provider=cloud_provider
            )
            if g.get("cluster") == cluster
        ]
        if not groups:
            return None
        lb_names = {n for g in groups for n in g.get("loadBalancers") or []}
        lbs = [lb for lb in self.cache.query(LOAD_BALANCERS, account=account) if lb["name"] in lb_names]
        names = parse_name(cluster)
        return {
            "name": cluster,
            "type": groups[0].get("type"),
            "accountName": account,
            "moniker": {
                "app": names.app or application,
                "cluster": cluster,
                **({"stack": names.stack} if names.stack else {}),
                **({"detail": names.detail} if names.detail else {}),
            },
            "serverGroups": groups,
            "loadBalancers": lbs,
        }

    def server_group(self, account: str, region: str, name: str) -> dict[str, Any] | None:
        """The full server group."""
        found = self.cache.query(SERVER_GROUPS, account=account, region=region, name=name)
        return found[0] if found else None

    def load_balancers(self, application: str) -> list[dict[str, Any]]:
        """The application's load balancers (by name, or used by its server groups), sorted by name."""
        used = {
            n
            for g in self.cache.query(SERVER_GROUPS, application=application)
            for n in g.get("loadBalancers") or []
        }
        lbs = [
            lb
            for lb in self.cache.query(LOAD_BALANCERS)
            if lb.get("application") == application or lb["name"] in used
        ]
        return sorted(lbs, key=lambda lb: str(lb["name"]).lower())

    def load_balancer(self, account: str, region: str, name: str) -> list[dict[str, Any]]:
        """Gate's ``/loadBalancers/{account}/{region}/{name}``: a list of detail objects."""
        return self.cache.query(LOAD_BALANCERS, account=account, region=region, name=name)

    def load_balancers_by_provider(self, cloud_provider: str | None) -> list[dict[str, Any]]:
        """``/loadBalancers?provider=``: ``[{name, accounts:[{name, regions:[{name, loadBalancers}]}]}]``."""
        by_name: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {}
        for lb in self.cache.query(LOAD_BALANCERS, cloud_provider=cloud_provider):
            by_name.setdefault(str(lb["name"]), {}).setdefault(str(lb["account"]), {}).setdefault(
                str(lb["region"]), []
            ).append(lb)
        return [
            {
                "name": name,
                "accounts": [
                    {
                        "name": account,
                        "regions": [
                            {"name": region, "loadBalancers": items} for region, items in regions.items()
                        ],
                    }
                    for account, regions in accounts.items()
                ],
            }
            for name, accounts in sorted(by_name.items())
        ]

    def instance(self, account: str, region: str, instance_id: str) -> dict[str, Any] | None:
        """The instance's JSON."""
        found = self.cache.query(INSTANCES, account=account, region=region, name=instance_id)
        return found[0] if found else None

    def images(
        self,
        cloud_provider: str | None,
        query: str | None,
        account: str | None,
        region: str | None,
        count: int | None,
    ) -> list[dict[str, Any]]:
        """``/images/find``: images whose name matches ``q`` (a glob; ``*`` when absent)."""
        pattern = query or "*"
        if not any(c in pattern for c in "*?["):
            pattern = f"*{pattern}*"
        images = [
            i
            for i in self.cache.query(IMAGES, cloud_provider=cloud_provider, account=account)
            if fnmatch.fnmatch(str(i.get("imageName", "")).lower(), pattern.lower())
            and (region is None or region in (i.get("amis") or {}))
        ]
        seen: dict[str, dict[str, Any]] = {}
        for image in images:
            seen.setdefault(str(image["imageId"]), image)
        result = sorted(
            seen.values(),
            key=lambda i: str((i.get("attributes") or {}).get("creationDate") or ""),
            reverse=True,
        )
        return result[:count] if count else result
