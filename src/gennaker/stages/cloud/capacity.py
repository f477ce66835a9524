"""Resize capacity maths beyond "set exactly this" (Orca's ResizeStrategySupport,
ScaleToServerGroupResizeStrategy and ScaleToClusterResizeStrategy, reference §5.4):

- ``scale_to_server_group``: start from another server group's capacity (``source``);
- ``scale_to_cluster``: start from the largest min/max/desired over the cluster in the location,
  then grow desired by ``scalePct``% or ``scaleNum``, capped at max;
- then ``scalePct`` (desired := ceil(desired × p/100), max/min widened to fit), and the pinning
  options: ``unpinMinimumCapacity`` (min back to the original min, never higher), ``pinCapacity``
  (min = max = desired), else ``pinMinimumCapacity`` (min = desired).

Rolling red/black grows the new server group to p% of the (pinned) source this way, and the
``pinServerGroup`` stage pins and unpins the source.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import TaskRun
from gennaker.providers.protocol import CloudProvider
from gennaker.stages._common import as_bool, as_int, as_number
from gennaker.stages.cloud.support import cluster_of, fresh_server_groups

Capacity = dict[str, int]
RELATIVE_ACTIONS = ("scale_to_server_group", "scale_to_cluster")


def _capacity(value: Any) -> Capacity | None:
    if not isinstance(value, Mapping):
        return None
    parts = {k: as_int(value.get(k)) for k in ("min", "max", "desired")}
    if any(v is None for v in parts.values()):
        return None
    return {k: int(v) for k, v in parts.items() if v is not None}


def scale_pct(capacity: Mapping[str, int], pct: float) -> Capacity:
    """desired' = ceil(desired × pct/100); max widened and min narrowed to hold it."""
    desired = math.ceil(capacity["desired"] * pct / 100)
    return {"min": min(capacity["min"], desired), "max": max(capacity["max"], desired), "desired": desired}


def original_min(ctx: Mapping[str, Any]) -> int | None:
    """The min to unpin to: ``originalCapacity.<source>`` (the Pin stage's output), else
    ``savedCapacity.min`` (what rolling red/black put aside before creating an empty group)."""
    raw = ctx.get("source")
    source: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    name = source.get("serverGroupName") or source.get("asgName")
    saved = ctx.get(f"originalCapacity.{name}") if name else None
    if isinstance(saved, Mapping) and as_int(saved.get("min")) is not None:
        return as_int(saved.get("min"))
    fallback = ctx.get("savedCapacity")
    return as_int(fallback.get("min")) if isinstance(fallback, Mapping) else None


def scaled_and_pinned(ctx: Mapping[str, Any], base: Mapping[str, int]) -> Capacity:
    """Orca's performScalingAndPinning over ``base``."""
    capacity: Capacity = dict(base)
    pct = as_number(ctx.get("scalePct"))
    if pct is not None:
        capacity = scale_pct(capacity, pct)
    if as_bool(ctx.get("unpinMinimumCapacity"), False):
        low = original_min(ctx)
        if low is not None and low <= capacity["min"]:
            capacity["min"] = low
    if as_bool(ctx.get("pinCapacity"), False):
        return {"min": capacity["desired"], "max": capacity["desired"], "desired": capacity["desired"]}
    if as_bool(ctx.get("pinMinimumCapacity"), False):
        capacity["min"] = capacity["desired"]
    return capacity


def action_of(ctx: Mapping[str, Any]) -> str:
    """The resize action, lower-cased; ``resizeType: exact`` or none means ``scale_exact``."""
    action = str(ctx.get("action") or "").strip().lower()
    if str(ctx.get("resizeType") or "").lower() == "exact" or not action:
        return "scale_exact"
    return action


async def relative_capacity(
    run: TaskRun, provider: CloudProvider, account: str, group: Mapping[str, Any]
) -> Capacity | str | None:
    """The capacity for ``scale_to_server_group`` / ``scale_to_cluster`` (None for other actions;
    a message when the source or the cluster cannot be read)."""
    ctx = run.context
    action = action_of(ctx)
    if action not in RELATIVE_ACTIONS:
        return None
    region = str(group.get("region") or ctx.get("region") or "")
    if action == "scale_to_server_group":
        source = ctx.get("source")
        if not isinstance(source, Mapping) or not (source.get("serverGroupName") or source.get("asgName")):
            return "scale_to_server_group needs source.serverGroupName (the server group to copy the capacity of)"
        name = str(source.get("serverGroupName") or source.get("asgName"))
        location = str(source.get("region") or region)
        groups = await fresh_server_groups(run, provider, account, region=location or None)
        found = next((g for g in groups if g["name"] == name), None)
        capacity = _capacity(found.get("capacity")) if found else None
        if capacity is None:
            return f"no server group found {provider.id}/{account}/{name} in {location}"
        return scaled_and_pinned(ctx, capacity)
    cluster = cluster_of(ctx) or str(group.get("cluster") or "")
    members = [
        g
        for g in await fresh_server_groups(run, provider, account, region=region or None)
        if g.get("cluster") == cluster
    ]
    if not members:
        return f"no server groups found for cluster {provider.id}/{account}/{cluster} in {region}"
    top = {"min": 0, "max": 0, "desired": 0}
    for member in members:
        capacity = _capacity(member.get("capacity")) or {"min": 0, "max": 0, "desired": 0}
        top = {k: max(top[k], capacity[k]) for k in top}
    pct = as_number(ctx.get("scalePct"))
    num = as_int(ctx.get("scaleNum"))
    increment = math.ceil(top["desired"] * abs(pct) / 100) if pct else abs(num) if num else 0
    top["max"] = max(top["max"], top["min"])
    top["min"] = min(top["max"], top["min"])
    top["desired"] = min(max(top["min"], top["desired"]) + increment, top["max"])
    return top
