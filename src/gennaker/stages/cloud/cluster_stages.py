"""``disableCluster`` and ``shrinkCluster`` (Orca's cluster-wide stages, reference §4.5), which
the highlander strategy uses: act on the cluster's server groups in the region except those
deployed by an ancestor createServerGroup/cloneServerGroup of the same account (and any newer
than the oldest of them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, SyntheticStageSpec, TaskResult, TaskRun, TaskSpec
from gennaker.engine.graph import ancestors
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.stages._common import as_bool, as_int, failed, new_attempt
from gennaker.stages.cloud.support import (
    BadStage,
    cluster_of,
    fresh_server_groups,
    provider_of,
    region_of,
    submit,
)
from gennaker.stages.cloud.waits import interesting_of, is_down

_DEPLOYS = ("createServerGroup", "cloneServerGroup", "copyLastAsg")


def _is_active(group: Mapping[str, Any]) -> bool:
    return not group.get("disabled") or any(
        i.get("healthState") == "Up" for i in group.get("instances") or []
    )


def _parent_deployed(run: TaskRun, account: str, region: str) -> set[str]:
    names: set[str] = set()
    for stage in ancestors(run.execution, run.stage):
        if stage.type not in _DEPLOYS:
            continue
        ctx = stage.context
        if (ctx.get("deploy.account.name") or ctx.get("credentials") or ctx.get("account")) != account:
            continue
        groups = ctx.get("deploy.server.groups")
        if isinstance(groups, Mapping):
            names.update(str(n) for n in groups.get(region) or [])
    return names


async def _candidates(run: TaskRun) -> tuple[Any, str, str, list[dict[str, Any]], list[dict[str, Any]]]:
    """(provider, account, region, every server group of the cluster, those not excluded)."""
    provider, account = provider_of(run)
    region = region_of(run, provider, account)
    cluster = cluster_of(run.context)
    if not cluster:
        raise BadStage("cluster (or moniker.cluster) is required")
    groups = await fresh_server_groups(run, provider, account, cluster=cluster, region=region)
    parents = _parent_deployed(run, account, region)
    deployed = [g for g in groups if g["name"] in parents]
    if deployed:
        oldest = min(int(g.get("createdTime") or 0) for g in deployed)
        remaining = [
            g for g in groups if g["name"] not in parents and int(g.get("createdTime") or 0) < oldest
        ]
    else:
        remaining = list(groups)
    return provider, account, region, groups, remaining


def _newest_first(groups: list[dict[str, Any]], larger_first: bool) -> list[dict[str, Any]]:
    ordered = sorted(groups, key=lambda g: int(g.get("createdTime") or 0), reverse=True)
    if larger_first:
        ordered.sort(key=lambda g: len(g.get("instances") or []), reverse=True)
    return ordered


class DisableClusterTask(BaseTask):
    """Disable every active server group beyond ``remainingEnabledServerGroups`` (default 1)."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Pick and disable."""
        try:
            provider, account, region, groups, remaining = await _candidates(run)
        except BadStage as exc:
            return failed(str(exc))
        keep_total = as_int(run.context.get("remainingEnabledServerGroups"))
        keep = max(0, (1 if keep_total is None else keep_total) - (len(groups) - len(remaining)))
        active = _newest_first(
            [g for g in remaining if _is_active(g)], as_bool(run.context.get("preferLargerOverNewer"), False)
        )
        chosen = [str(g["name"]) for g in active[keep:]]
        context: dict[str, Any] = {}
        for index, name in enumerate(chosen):
            description = {
                **run.context,
                "serverGroupName": name,
                "asgName": name,
                "region": region,
                "credentials": account,
            }
            record, context = await submit(
                run, provider, account, "disableServerGroup", description, index=index
            )
            run.stage.context.update(context)
            if record.status != "SUCCEEDED":
                return failed(record.error or f"disabling {name} failed", context)
        return TaskResult.succeeded(
            {**context, "deploy.server.groups": {region: chosen}, "deploy.account.name": account}
        )


class ShrinkClusterTask(BaseTask):
    """Destroy server groups until the cluster has ``shrinkToSize`` (default 1)."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Pick and destroy."""
        try:
            provider, account, region, groups, remaining = await _candidates(run)
        except BadStage as exc:
            return failed(str(exc))
        allow_active = as_bool(run.context.get("allowDeleteActive"), False)
        size = as_int(run.context.get("shrinkToSize"))
        size = 1 if size is None else size
        candidates = remaining if allow_active else [g for g in remaining if not _is_active(g)]
        keep = size - (len(groups) - len(candidates))
        ordered = sorted(candidates, key=lambda g: int(g.get("createdTime") or 0), reverse=True)
        if as_bool(run.context.get("retainLargerOverNewer"), False):
            ordered.sort(key=lambda g: len(g.get("instances") or []), reverse=True)
        if allow_active:
            ordered.sort(key=lambda g: not _is_active(g))
        chosen = [str(g["name"]) for g in ordered[max(0, keep) :]]
        context: dict[str, Any] = {}
        for index, name in enumerate(chosen):
            description = {
                **run.context,
                "serverGroupName": name,
                "asgName": name,
                "region": region,
                "credentials": account,
            }
            record, context = await submit(
                run, provider, account, "destroyServerGroup", description, index=index
            )
            run.stage.context.update(context)
            if record.status != "SUCCEEDED":
                return failed(record.error or f"destroying {name} failed", context)
        return TaskResult.succeeded(
            {**context, "deploy.server.groups": {region: chosen}, "deploy.account.name": account}
        )


class WaitForClusterTask(BaseTask):
    """The server groups acted on are down (disable) or gone (shrink)."""

    backoff_ms = 2_000
    timeout_ms: int | None = 30 * 60 * 1000
    overridable_timeout = True

    def __init__(self, gone: bool) -> None:
        self.gone = gone

    async def execute(self, run: TaskRun) -> TaskResult:
        """Check each acted-on server group."""
        acted = run.stage.context.get("deploy.server.groups") or {}
        names = {str(n) for names in acted.values() for n in names} if isinstance(acted, Mapping) else set()
        if not names:
            return TaskResult.succeeded()
        provider, account = provider_of(run)
        groups = {g["name"]: g for g in await fresh_server_groups(run, provider, account)}
        interesting = interesting_of(run.context)
        for name in names:
            group = groups.get(name)
            if group is None:
                continue
            if self.gone:
                return TaskResult.running()
            if not all(is_down(i, interesting) for i in group.get("instances") or []):
                return TaskResult.running()
        return TaskResult.succeeded()


class ClusterStage(BaseStage):
    """disableCluster / shrinkCluster."""

    def __init__(self, type_name: str, act: str, wait: str) -> None:
        self.type = type_name
        self._act = act
        self._wait = wait

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """Act, then wait."""
        new_attempt(stage)
        return [TaskSpec(self.type, self._act), TaskSpec(self._wait.replace("Task", ""), self._wait)]

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """shrinkCluster with allowDeleteActive disables the cluster first."""
        if self.type != "shrinkCluster" or not as_bool(stage.context.get("allowDeleteActive"), False):
            return []
        size = as_int(stage.context.get("shrinkToSize"))
        context = {
            **{
                k: v
                for k, v in stage.context.items()
                if k not in ("shrinkToSize", "allowDeleteActive", "retainLargerOverNewer", "stageAttemptId")
            },
            "remainingEnabledServerGroups": 1 if size is None else size,
            "preferLargerOverNewer": as_bool(stage.context.get("retainLargerOverNewer"), False),
            "continueIfClusterNotFound": size == 0,
        }
        return [SyntheticStageSpec("disableCluster", "disableCluster", context)]


def register(registry: Registry, settings: Any) -> None:
    """Add disableCluster and shrinkCluster."""
    registry.add_task("disableClusterTask", DisableClusterTask())
    registry.add_task("shrinkClusterTask", ShrinkClusterTask())
    registry.add_task("waitForClusterDisableTask", WaitForClusterTask(gone=False))
    registry.add_task("waitForClusterShrinkTask", WaitForClusterTask(gone=True))
    registry.add_stage(ClusterStage("disableCluster", "disableClusterTask", "waitForClusterDisableTask"))
    registry.add_stage(ClusterStage("shrinkCluster", "shrinkClusterTask", "waitForClusterShrinkTask"))
