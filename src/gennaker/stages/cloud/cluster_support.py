"""What Orca's cluster-wide stages share (``AbstractClusterWideClouddriverTask`` and
``AbstractWaitForClusterWideClouddriverTask``, reference §4.5): read the cluster, group its server
groups by location, leave out what an ancestor deploy of the same account created (and anything
newer than the oldest of those), let the stage pick among the rest, act on each pick, and wait
until the picks show the result.

A pick is acted on under an operation id made from the stage attempt and the server group's name,
so a task re-run after a crash never mistakes one server group's recorded operation for another's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.graph import ancestors
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.providers.protocol import CloudProvider
from gennaker.stages._common import as_bool, failed, new_attempt
from gennaker.stages.cloud.support import (
    BadStage,
    cluster_of,
    fresh_server_groups,
    provider_of,
    submit,
    submitted,
    waits_of,
)

_DEPLOYS = ("createServerGroup", "cloneServerGroup", "copyLastAsg")
#: Orca's locationsFromStage order: the first key present with a value wins.
_LOCATION_KEYS = ("namespaces", "regions", "zones", "namespace", "region")

Group = dict[str, Any]


def is_active(group: Mapping[str, Any]) -> bool:
    """Orca's isActive: not disabled, or some instance is Up."""
    return group.get("disabled") is False or any(
        i.get("healthState") == "Up" for i in group.get("instances") or []
    )


def created(group: Mapping[str, Any]) -> int:
    """The server group's createdTime (0 when unknown)."""
    return int(group.get("createdTime") or 0)


def size(group: Mapping[str, Any]) -> int:
    """How many instances the server group has."""
    return len(group.get("instances") or [])


def retain_order(
    groups: Sequence[Group], *, active_first: bool = False, larger_first: bool = False
) -> list[Group]:
    """Orca's CompositeComparator of IsActive, InstanceCount and CreatedTime: the order in which
    server groups are kept (the first ones are retained, the rest acted on)."""

    def key(group: Group) -> tuple[int, int, int]:
        return (
            0 if not active_first or is_active(group) else 1,
            -size(group) if larger_first else 0,
            -created(group),
        )

    return sorted(groups, key=key)


def locations_of(ctx: Mapping[str, Any]) -> list[str]:
    """The stage's locations as Orca reads them (namespaces, regions, zones, namespace, region)."""
    for key in _LOCATION_KEYS:
        value = ctx.get(key)
        if isinstance(value, list) and value:
            return list(dict.fromkeys(str(v) for v in value))
        if isinstance(value, str) and value:
            return [value]
    return []


def parent_deployed(run: TaskRun, account: str, region: str) -> set[str]:
    """Names an ancestor createServerGroup/cloneServerGroup/copyLastAsg of this account deployed."""
    names: set[str] = set()
    for stage in ancestors(run.execution, run.stage):
        if stage is run.stage or not (stage.type in _DEPLOYS or stage.context.get("type") in _DEPLOYS):
            continue
        ctx = stage.context
        if (ctx.get("deploy.account.name") or ctx.get("credentials") or ctx.get("account")) != account:
            continue
        groups = ctx.get("deploy.server.groups")
        if isinstance(groups, Mapping):
            names.update(str(n) for n in groups.get(region) or [])
    return names


def without_parent_deploys(groups: Sequence[Group], parents: set[str]) -> list[Group]:
    """Orca's filterParentAndNewerThanParentDeploys."""
    deployed = [g for g in groups if g["name"] in parents]
    if not deployed:
        return list(groups)
    oldest = min(created(g) for g in deployed)
    return [g for g in groups if g["name"] not in parents and created(g) <= oldest]


@dataclass(frozen=True)
class Location:
    """The server groups of the cluster in one location, and those the stage may act on."""

    region: str
    groups: list[Group]
    candidates: list[Group]


@dataclass(frozen=True)
class ClusterScope:
    """What a cluster-wide task acts in."""

    provider: CloudProvider
    account: str
    cluster: str
    locations: list[Location]


class ClusterNotFound(Exception):
    """The cluster has no server groups in the account."""


async def cluster_scope(run: TaskRun) -> ClusterScope:
    """Read the cluster fresh and split it by location; BadStage/ClusterNotFound when it cannot."""
    ctx = run.context
    provider, account = provider_of(run)
    cluster = cluster_of(ctx)
    if not cluster:
        raise BadStage("cluster (or moniker.cluster) is required")
    regions = locations_of(ctx)
    if not regions:
        found = next((a for a in provider.accounts() if a.name == account), None)
        if found is None or len(found.regions) != 1:
            raise BadStage("regions is required (the locations of the cluster to act in)")
        regions = [found.regions[0]]
    groups = await fresh_server_groups(run, provider, account, cluster=cluster)
    if not groups:
        raise ClusterNotFound(f"No ServerGroups found in cluster {cluster} ({provider.id}/{account})")
    locations = []
    for region in regions:
        here = [g for g in groups if g.get("region") == region]
        candidates = without_parent_deploys(here, parent_deployed(run, account, region))
        locations.append(Location(region, here, candidates))
    return ClusterScope(provider, account, cluster, locations)


class ClusterWideTask(BaseTask):
    """Pick server groups per location (``select``) and run ``operation`` on each of them."""

    operation = ""
    backoff_ms = 5_000

    def select(self, ctx: Mapping[str, Any], location: Location) -> list[Group]:
        """The server groups to act on in one location."""
        raise NotImplementedError

    def payload(self, ctx: Mapping[str, Any], group: Group) -> dict[str, Any]:
        """Operation fields beyond the server group's name, location and account."""
        return {}

    async def execute(self, run: TaskRun) -> TaskResult:
        """Select, then act on each selected server group."""
        ctx = run.context
        continue_if_missing = as_bool(ctx.get("continueIfClusterNotFound"), False)
        try:
            scope = await cluster_scope(run)
        except BadStage as exc:
            return failed(str(exc))
        except ClusterNotFound as exc:
            if continue_if_missing or self.tolerates_missing(ctx):
                return TaskResult.succeeded()
            return failed(str(exc))
        chosen = {loc.region: self.select(ctx, loc) for loc in scope.locations}
        for loc in scope.locations:  # a re-run keeps what the first run had started on
            started = await asyncio.to_thread(self._started, run, loc, chosen[loc.region])
            chosen[loc.region] = retain_order([*chosen[loc.region], *started])
        acted = {region: [str(g["name"]) for g in groups] for region, groups in chosen.items() if groups}
        context: dict[str, Any] = {
            "notification.type": self.operation.lower(),
            "deploy.account.name": scope.account,
            "deploy.server.groups": acted,
        }
        for region, groups in chosen.items():
            for group in groups:
                name = str(group["name"])
                description = {
                    "serverGroupName": name,
                    "asgName": name,
                    "region": region,
                    "credentials": scope.account,
                    "cloudProvider": scope.provider.id,
                    "moniker": group.get("moniker"),
                    "interestingHealthProviderNames": ctx.get("interestingHealthProviderNames"),
                    "operationDescriptor": f"Running {self.operation} on",
                    **self.payload(ctx, group),
                }
                record, kato = await submit(
                    run, scope.provider, scope.account, self.operation, description, key=f"{region}:{name}"
                )
                run.stage.context.update(kato)
                context.update(kato)
                if record.status != "SUCCEEDED":
                    return failed(record.error or f"{self.operation} of {name} failed", context)
        return TaskResult.succeeded(context)

    def _started(self, run: TaskRun, loc: Location, picked: list[Group]) -> list[Group]:
        names = {g["name"] for g in picked}
        return [
            g
            for g in loc.candidates
            if g["name"] not in names and submitted(run, self.operation, key=f"{loc.region}:{g['name']}")
        ]

    def tolerates_missing(self, ctx: Mapping[str, Any]) -> bool:
        """Whether an empty or missing cluster is success for this task."""
        return False


class MonitorClusterTask(BaseTask):
    """Orca's monitorKatoTask for cluster-wide stages: every recorded operation completed."""

    pure = True

    async def execute(self, run: TaskRun) -> TaskResult:
        """TERMINAL with the first failure's message, else SUCCEEDED."""
        for task in run.stage.context.get("kato.tasks") or []:
            if not isinstance(task, Mapping):
                continue
            status = task.get("status") or {}
            if status.get("failed"):
                return failed(str((task.get("exception") or {}).get("message") or status.get("status")))
            if not status.get("completed"):
                return TaskResult.running()
        return TaskResult.succeeded()


class ClusterWaitTask(BaseTask):
    """Waits until no acted-on server group (``deploy.server.groups``) is still in progress."""

    backoff_ms = 10_000
    timeout_ms: int | None = 30 * 60 * 1000
    overridable_timeout = True

    def in_progress(self, ctx: Mapping[str, Any], group: Group | None) -> bool:
        """Whether the operation on this server group has not shown its result yet."""
        raise NotImplementedError

    def remaining(self, run: TaskRun) -> list[dict[str, str]]:
        """``remainingDeployServerGroups`` from the last poll, else every acted-on server group."""
        left = run.stage.context.get("remainingDeployServerGroups")
        if isinstance(left, list) and left:
            return [dict(x) for x in left if isinstance(x, Mapping)]
        acted = run.stage.context.get("deploy.server.groups")
        if not isinstance(acted, Mapping):
            return []
        return [{"region": str(r), "name": str(n)} for r, names in acted.items() for n in names or []]

    async def execute(self, run: TaskRun) -> TaskResult:
        """Poll the cluster until every acted-on server group is done."""
        wanted = self.remaining(run)
        if not wanted:
            return TaskResult.succeeded()
        try:
            provider, account = provider_of(run)
        except BadStage as exc:
            return failed(str(exc))
        poll = waits_of(provider).poll_ms
        groups = {
            (g.get("region"), g["name"]): g
            for g in await fresh_server_groups(run, provider, account, cluster=cluster_of(run.context))
        }
        left = [w for w in wanted if self.in_progress(run.context, groups.get((w["region"], w["name"])))]
        if left:
            return TaskResult.running({"remainingDeployServerGroups": left}, backoff_ms=poll)
        return await self.done(run, provider)

    async def done(self, run: TaskRun, provider: CloudProvider) -> TaskResult:
        """What to answer once nothing is in progress (the disable wait adds its minimum time)."""
        return TaskResult.succeeded({"remainingDeployServerGroups": []})


class ClusterWideStage(BaseStage):
    """A cluster-wide stage: its operation task, a monitor, and its wait (Orca's task names)."""

    def __init__(self, type_name: str, act: str, wait: str) -> None:
        self.type = type_name
        self._act = act
        self._wait = wait

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """``<op>`` -> ``monitor<Op>`` -> ``<wait>``."""
        new_attempt(stage)
        step = self._act.removesuffix("Task")
        return [
            TaskSpec(step, self._act),
            TaskSpec("monitor" + step[0].upper() + step[1:], "monitorClusterTask"),
            TaskSpec(self._wait.removesuffix("Task"), self._wait),
        ]

    def prepare_for_restart(self, stage: Stage) -> None:
        """A restart selects and acts again."""
        for key in ("kato.tasks", "kato.last.task.id", "deploy.server.groups", "remainingDeployServerGroups"):
            stage.context.pop(key, None)


def register(registry: Registry, settings: Any) -> None:
    """Add the monitor task the cluster-wide stages share."""
    registry.add_task("monitorClusterTask", MonitorClusterTask())
