"""``shrinkCluster`` (Orca's ShrinkClusterStage / ShrinkClusterTask, reference §4.5): destroy the
server groups of the cluster beyond ``shrinkToSize`` (default 1), in each location. Active ones are
candidates only with ``allowDeleteActive`` (and then a ``disableCluster`` stage runs first, keeping
``shrinkToSize`` enabled); kept first are the active (when candidates), the larger (with
``retainLargerOverNewer``) and the newer. Then wait until they are gone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import SyntheticStageSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.stages._common import ATTEMPT_ID, as_bool, as_int
from gennaker.stages.cloud.cluster_support import (
    ClusterWaitTask,
    ClusterWideStage,
    ClusterWideTask,
    Group,
    Location,
    is_active,
    retain_order,
)


def _size(ctx: Mapping[str, Any]) -> int:
    size = as_int(ctx.get("shrinkToSize"))
    return 1 if size is None else size


def select_shrink(ctx: Mapping[str, Any], location: Location) -> list[Group]:
    """keep = shrinkToSize - (#all - #candidates) (not clamped: a negative keep keeps none)."""
    if not location.candidates:
        return []
    allow_active = as_bool(ctx.get("allowDeleteActive"), False)
    candidates = location.candidates if allow_active else [g for g in location.candidates if not is_active(g)]
    keep = _size(ctx) - (len(location.groups) - len(candidates))
    ordered = retain_order(
        candidates,
        active_first=allow_active,
        larger_first=as_bool(ctx.get("retainLargerOverNewer"), False),
    )
    return ordered[max(0, keep) :]


class ShrinkClusterTask(ClusterWideTask):
    """Destroy the selected server groups."""

    operation = "destroyServerGroup"

    def select(self, ctx: Mapping[str, Any], location: Location) -> list[Group]:
        """See select_shrink."""
        return select_shrink(ctx, location)

    def tolerates_missing(self, ctx: Mapping[str, Any]) -> bool:
        """Shrinking to 0 a cluster that is not there is done."""
        return _size(ctx) == 0


class WaitForClusterShrinkTask(ClusterWaitTask):
    """The destroyed server groups are gone."""

    def in_progress(self, ctx: Mapping[str, Any], group: Group | None) -> bool:
        """Still there."""
        return group is not None


class ShrinkClusterStage(ClusterWideStage):
    """shrinkCluster, with its disableCluster first when ``allowDeleteActive``."""

    def __init__(self) -> None:
        super().__init__("shrinkCluster", "shrinkClusterTask", "waitForClusterShrinkTask")

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """``disableCluster`` with remainingEnabledServerGroups = shrinkToSize (unless
        ``runDisableClusterStep`` is false)."""
        ctx = stage.context
        if not as_bool(ctx.get("allowDeleteActive"), False):
            return []
        if not as_bool(ctx.get("runDisableClusterStep"), True):
            return []
        context = {k: v for k, v in ctx.items() if k != ATTEMPT_ID}
        context["remainingEnabledServerGroups"] = ctx.get("shrinkToSize")
        context["preferLargerOverNewer"] = ctx.get("retainLargerOverNewer")
        context["continueIfClusterNotFound"] = _size(ctx) == 0 and ctx.get("shrinkToSize") is not None
        if ctx.get("interestingHealthProviderNames") is None:
            context.pop("interestingHealthProviderNames", None)
        return [SyntheticStageSpec("disableCluster", "disableCluster", context, chained=False)]


def register(registry: Registry, settings: Any) -> None:
    """Add shrinkCluster."""
    registry.add_task("shrinkClusterTask", ShrinkClusterTask())
    registry.add_task("waitForClusterShrinkTask", WaitForClusterShrinkTask())
    registry.add_stage(ShrinkClusterStage())
