"""``disableCluster`` (Orca's DisableClusterStage / DisableClusterTask, reference §4.5): disable
every active server group of the cluster beyond the ``remainingEnabledServerGroups`` newest (or,
with ``preferLargerOverNewer``, largest) ones, in each location; ``desiredPercentage`` is passed
to each disable. Then wait until their instances are down, and at least the provider's minimum
disable time (Orca's 90 s ``tasks.disable-cluster-min-time-millis``) since the stage started."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import TaskResult, TaskRun
from gennaker.engine.registry import Registry
from gennaker.providers.protocol import CloudProvider
from gennaker.stages._common import as_bool, as_int, as_number
from gennaker.stages.cloud.cluster_support import (
    ClusterWaitTask,
    ClusterWideStage,
    ClusterWideTask,
    Group,
    Location,
    is_active,
    retain_order,
)
from gennaker.stages.cloud.support import waits_of
from gennaker.stages.cloud.waits import interesting_of, is_down


def select_disable(ctx: Mapping[str, Any], location: Location) -> list[Group]:
    """Orca's rule: keep = max(0, remainingEnabledServerGroups - #excluded); of the active
    candidates, newest (or largest) first, keep that many and disable the rest."""
    remaining = as_int(ctx.get("remainingEnabledServerGroups"))
    keep = max(0, (1 if remaining is None else remaining) - (len(location.groups) - len(location.candidates)))
    active = [g for g in location.candidates if is_active(g)]
    ordered = retain_order(active, larger_first=as_bool(ctx.get("preferLargerOverNewer"), False))
    return ordered[keep:]


class DisableClusterTask(ClusterWideTask):
    """Disable the selected server groups."""

    operation = "disableServerGroup"

    def select(self, ctx: Mapping[str, Any], location: Location) -> list[Group]:
        """See select_disable."""
        return select_disable(ctx, location)

    def payload(self, ctx: Mapping[str, Any], group: Group) -> dict[str, Any]:
        """``desiredPercentage`` (and the stage's ``drainSeconds``) go with each disable."""
        extra: dict[str, Any] = {"desiredPercentage": as_number(ctx.get("desiredPercentage"))}
        if ctx.get("drainSeconds") is not None:
            extra["drainSeconds"] = ctx["drainSeconds"]
        return extra


def disabled_enough(ctx: Mapping[str, Any], group: Group) -> bool:
    """All instances are down, or with ``desiredPercentage`` p < 100, ceil(p% of them) are."""
    instances = list(group.get("instances") or [])
    interesting = interesting_of(ctx)
    down = sum(1 for i in instances if is_down(i, interesting))
    pct = as_number(ctx.get("desiredPercentage"))
    if pct is None or pct >= 100:
        return down == len(instances)
    return down >= math.ceil(len(instances) * pct / 100)


class WaitForClusterDisableTask(ClusterWaitTask):
    """The disabled server groups' instances are down; then the provider's minimum time."""

    def in_progress(self, ctx: Mapping[str, Any], group: Group | None) -> bool:
        """Not every required instance is down yet."""
        interesting = interesting_of(ctx)
        if interesting == [] or group is None:
            return False
        return not disabled_enough(ctx, group)

    async def done(self, run: TaskRun, provider: CloudProvider) -> TaskResult:
        """Wait out the provider's minimum disable time if anything was disabled."""
        waits = waits_of(provider)
        started = run.stage.start_time or run.now_ms
        elapsed = run.now_ms - started
        if run.stage.context.get("deploy.server.groups") and elapsed < waits.disable_cluster_min_ms:
            return TaskResult.running(
                {"remainingDeployServerGroups": []},
                backoff_ms=max(1, min(waits.poll_ms, waits.disable_cluster_min_ms - elapsed)),
            )
        return TaskResult.succeeded({"remainingDeployServerGroups": []})


def register(registry: Registry, settings: Any) -> None:
    """Add disableCluster."""
    registry.add_task("disableClusterTask", DisableClusterTask())
    registry.add_task("waitForClusterDisableTask", WaitForClusterDisableTask())
    registry.add_stage(ClusterWideStage("disableCluster", "disableClusterTask", "waitForClusterDisableTask"))
