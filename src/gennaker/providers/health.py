"""Accounts as every process should show them: the provider's configuration overlaid with the
health (and the regions seen) that the caching agent recorded in the infrastructure cache, which
may have run in another process."""

from __future__ import annotations

import dataclasses

from gennaker.providers.clouddriver import Clouddriver
from gennaker.providers.protocol import Account


def with_health(clouddriver: Clouddriver, accounts: list[Account]) -> list[Account]:
    """``accounts`` with ``details.health`` (and empty regions) taken from the recorded health."""
    recorded = clouddriver.cache.account_health()
    result = []
    for account in accounts:
        found = recorded.get(account.name)
        if found is None or "health" not in account.details:
            result.append(account)
            continue
        health = {
            "state": found.get("state", "UNKNOWN"),
            **({"error": found["error"]} if found.get("error") else {}),
        }
        details = {**account.details, "health": health, "healthy": health["state"] == "UP"}
        regions = account.regions or tuple(str(r) for r in found.get("regions") or ())
        result.append(dataclasses.replace(account, details=details, regions=regions))
    return result
