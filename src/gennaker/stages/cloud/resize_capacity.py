"""The capacity a ``resizeServerGroup`` asks for (Orca's ResizeStrategy family, reference §5.4):
``scale_exact`` (the configured capacity merged over the current one), ``scale_up`` /
``scale_down`` (relative, by ``scalePct`` or ``scaleNum``), ``scale_to_server_group`` (the
``source`` server group's capacity, scaled by ``scalePct``) and ``scale_to_cluster`` (the largest
capacity in the cluster's location, grown by ``scalePct``/``scaleNum`` up to its max); then the
pinning flags ``unpinMinimumCapacity``, ``pinCapacity`` and ``pinMinimumCapacity``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from gennaker.stages._common import as_bool, as_int, as_number

Capacity = dict[str, int]

ACTIONS = ("scale_exact", "scale_up", "scale_down", "scale_to_server_group", "scale_to_cluster")


def action_of(ctx: Mapping[str, Any]) -> str:
    """The resize action (``resizeType: exact`` and no action mean scale_exact)."""
    action = str(ctx.get("action") or "").strip().lower()
    if str(ctx.get("resizeType") or "").lower() == "exact" or not action:
        return "scale_exact"
    return action


def capacity_of(value: Any) -> Capacity:
    """``{min, max, desired}`` as ints (missing parts are 0)."""
    value = value if isinstance(value, Mapping) else {}
    return {k: as_int(value.get(k)) or 0 for k in ("min", "max", "desired")}


def _merge_exact(ctx: Mapping[str, Any], current: Capacity) -> Capacity | str:
    wanted = ctx.get("capacity")
    if not isinstance(wanted, Mapping):
        return 'capacity must be an object like {"min": 1, "max": 3, "desired": 2}'
    parts = {k: as_int(wanted.get(k)) for k in ("min", "max", "desired")}
    for key, raw in wanted.items():
        if key in parts and raw not in (None, "") and parts[key] is None:
            return f"capacity.{key} must be a whole number (got {raw!r})"
    if parts["min"] is not None and parts["max"] is not None and parts["min"] > parts["max"]:
        return (
            f"capacity: min ({parts['min']}) is greater than max ({parts['max']}); make min <= desired <= max"
        )
    low = parts["min"] if parts["min"] is not None else current.get("min", 0)
    if parts["max"] is not None:
        low = min(low, parts["max"])
    high = parts["max"] if parts["max"] is not None else max(low, current.get("max", 0))
    if parts["desired"] is not None:
        desired = parts["desired"]
        if not low <= desired <= high:
            return f"capacity.desired ({desired}) must be between min ({low}) and max ({high})"
    else:
        desired = min(max(current.get("desired", 0), low), high)
    return {"min": low, "max": high, "desired": desired}


def _relative(ctx: Mapping[str, Any], current: Capacity, action: str) -> Capacity | str:
    sign = 1 if action == "scale_up" else -1
    pct = as_number(ctx.get("scalePct"))
    num = as_int(ctx.get("scaleNum"))
    if pct is None and num is None:
        return f"{action} needs scalePct (a percentage) or scaleNum (a number of instances)"
    result = {}
    for key in ("min", "desired", "max"):
        value = current.get(key, 0)
        delta = math.ceil(value * pct / 100) if pct is not None else int(num or 0)
        result[key] = max(0, value + sign * delta)
    return result


def _to_cluster(ctx: Mapping[str, Any], cluster: Sequence[Mapping[str, Any]]) -> Capacity | str:
    if not cluster:
        return "scale_to_cluster: no server groups found for the cluster in this location"
    capacity = {"min": 0, "max": 0, "desired": 0}
    for group in cluster:
        for key, value in capacity_of(group.get("capacity")).items():
            capacity[key] = max(capacity[key], value)
    pct = as_number(ctx.get("scalePct"))
    num = as_int(ctx.get("scaleNum"))
    increment = math.ceil(capacity["desired"] * abs(pct) / 100) if pct else abs(num) if num else 0
    capacity["max"] = max(capacity["max"], capacity["min"])
    capacity["min"] = min(capacity["max"], capacity["min"])
    capacity["desired"] = min(max(capacity["min"], capacity["desired"]) + increment, capacity["max"])
    return capacity


def scale_and_pin(ctx: Mapping[str, Any], capacity: Capacity) -> Capacity:
    """Orca's performScalingAndPinning."""
    result = dict(capacity)
    pct = as_number(ctx.get("scalePct"))
    if pct is not None:
        desired = math.ceil(result["desired"] * pct / 100)
        result = {"max": max(result["max"], desired), "desired": desired, "min": min(result["min"], desired)}
    if as_bool(ctx.get("unpinMinimumCapacity"), False):
        source: Mapping[str, Any] = ctx["source"] if isinstance(ctx.get("source"), Mapping) else {}
        original = ctx.get(f"originalCapacity.{source.get('serverGroupName') or source.get('asgName')}")
        saved = ctx.get("savedCapacity")
        original_min = None
        if isinstance(original, Mapping) and original.get("min") is not None:
            original_min = as_int(original.get("min"))
        elif isinstance(saved, Mapping):
            original_min = as_int(saved.get("min"))
        if original_min is not None and original_min <= result["min"]:
            result["min"] = original_min
    if as_bool(ctx.get("pinCapacity"), False):
        return {"min": result["desired"], "max": result["desired"], "desired": result["desired"]}
    if as_bool(ctx.get("pinMinimumCapacity"), False):
        result["min"] = result["desired"]
    return result


def resize_capacity(
    ctx: Mapping[str, Any],
    current: Mapping[str, int],
    *,
    source: Mapping[str, int] | None = None,
    cluster: Sequence[Mapping[str, Any]] = (),
) -> Capacity | str:
    """The new capacity for the stage's action, or a message naming the bad field.

    ``source`` is the capacity of ``source.serverGroupName`` (scale_to_server_group); ``cluster``
    the server groups of the cluster in the target's location (scale_to_cluster)."""
    now = {k: int(current.get(k, 0)) for k in ("min", "max", "desired")}
    action = action_of(ctx)
    if action == "scale_exact":
        merged = _merge_exact(ctx, now)
        return merged if isinstance(merged, str) else scale_and_pin(ctx, merged)
    if action in ("scale_up", "scale_down"):
        return _relative(ctx, now, action)
    if action == "scale_to_server_group":
        if source is None:
            return "scale_to_server_group needs source.serverGroupName (the server group to copy the capacity of)"
        return scale_and_pin(ctx, dict(source))
    if action == "scale_to_cluster":
        return _to_cluster(ctx, cluster)
    return f"action {ctx.get('action')!r} is not one of {', '.join(ACTIONS)}"
