"""``scaleDownCluster`` (Orca's ScaleDownClusterStage / ScaleDownClusterTask, reference §4.5):
resize to 0/0/0 every server group of the cluster beyond the ``remainingFullSizeServerGroups``
kept, in each location. Active server groups are candidates only with ``allowScaleDownActive``;
the kept ones are, in order, the active (when they are candidates), the larger (with
``preferLargerOverNewer``) and the newer. Then wait until they have no instances."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.registry import Registry
from gennaker.stages._common import as_bool, as_int
from gennaker.stages.cloud.cluster_support import (
    ClusterWaitTask,
    ClusterWideStage,
    ClusterWideTask,
    Group,
    Location,
    is_active,
    retain_order,
)


def select_scale_down(ctx: Mapping[str, Any], location: Location) -> list[Group]:
    """keep = max(0, remainingFullSizeServerGroups - (#all - #candidates)); the rest go to 0."""
    allow_active = as_bool(ctx.get("allowScaleDownActive"), False)
    candidates = location.candidates if allow_active else [g for g in location.candidates if not is_active(g)]
    remaining = as_int(ctx.get("remainingFullSizeServerGroups"))
    keep = max(0, (1 if remaining is None else remaining) - (len(location.groups) - len(candidates)))
    ordered = retain_order(
        candidates,
        active_first=allow_active,
        larger_first=as_bool(ctx.get("preferLargerOverNewer"), False),
    )
    return ordered[keep:]


class ScaleDownClusterTask(ClusterWideTask):
    """Resize the selected server groups to 0/0/0."""

    operation = "resizeServerGroup"

    def select(self, ctx: Mapping[str, Any], location: Location) -> list[Group]:
        """See select_scale_down."""
        return select_scale_down(ctx, location)

    def payload(self, ctx: Mapping[str, Any], group: Group) -> dict[str, Any]:
        """Capacity zero."""
        return {"capacity": {"min": 0, "max": 0, "desired": 0}}


class WaitForScaleDownClusterTask(ClusterWaitTask):
    """The scaled-down server groups have no instances left."""

    def in_progress(self, ctx: Mapping[str, Any], group: Group | None) -> bool:
        """Some instance remains."""
        return group is not None and bool(group.get("instances"))


def register(registry: Registry, settings: Any) -> None:
    """Add scaleDownCluster."""
    registry.add_task("scaleDownClusterTask", ScaleDownClusterTask())
    registry.add_task("waitForScaleDownClusterTask", WaitForScaleDownClusterTask())
    registry.add_stage(
        ClusterWideStage("scaleDownCluster", "scaleDownClusterTask", "waitForScaleDownClusterTask")
    )
