"""Waiting on server groups (Orca's WaitForUpInstancesTask, WaitForRequiredInstancesDownTask,
WaitForCapacityMatchTask, WaitForDestroyedServerGroupTask) and the HealthHelper rules they use
(reference §4.4)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gennaker.engine.contracts import BaseTask, TaskResult, TaskRun
from gennaker.model.status import ExecutionStatus
from gennaker.stages._common import as_number, failed
from gennaker.stages.cloud.support import BadStage, fresh_server_groups, provider_of, waits_of

_NOT_UP = ("Down", "OutOfService", "Starting", "Draining")
_DOWNISH = ("Down", "OutOfService", "Starting")


def _considered(instance: Mapping[str, Any], interesting: Sequence[str] | None) -> list[Mapping[str, Any]]:
    healths = [h for h in instance.get("health") or [] if isinstance(h, Mapping)]
    if interesting is None:
        return healths
    return [h for h in healths if h.get("type") in interesting]


def is_up(instance: Mapping[str, Any], interesting: Sequence[str] | None) -> bool:
    """Some considered health is Up and none is Down/OutOfService/Starting/Draining (with a list
    and no Up, a platform health that is not Down counts as Up)."""
    healths = _considered(instance, interesting)
    states = [h.get("state") for h in healths]
    if any(s in _NOT_UP for s in states):
        return False
    if "Up" in states:
        return True
    return interesting is not None and any(
        h.get("healthClass") == "platform" and h.get("state") != "Down" for h in healths
    )


def is_down(instance: Mapping[str, Any], interesting: Sequence[str] | None) -> bool:
    """Some considered health is Down/OutOfService/Starting and none is Up/Draining; no healths at
    all, or a single Unknown platform health, also count as down."""
    healths = _considered(instance, interesting)
    states = [h.get("state") for h in healths]
    if not healths:
        return True
    if len(healths) == 1 and healths[0].get("healthClass") == "platform" and states[0] == "Unknown":
        return True
    return any(s in _DOWNISH for s in states) and not any(s in ("Up", "Draining") for s in states)


def interesting_of(ctx: Mapping[str, Any]) -> list[str] | None:
    """``interestingHealthProviderNames``: None = all healths; [] = do not wait on health."""
    value = ctx.get("interestingHealthProviderNames")
    return [str(v) for v in value] if isinstance(value, list) else None


def target_size(ctx: Mapping[str, Any], group: Mapping[str, Any]) -> int:
    """How many instances must be up (targetDesiredSize after targetHealthyDeployPercentage)."""
    capacity = group.get("capacity") or {}
    desired = int(capacity.get("desired") or 0)
    configured = ctx.get("capacity") if isinstance(ctx.get("capacity"), Mapping) else {}
    if (
        configured
        and configured.get("desired") is not None
        and configured.get("min") == configured.get("max") == configured.get("desired")
    ):
        desired = int(configured["desired"])
    pct = as_number(ctx.get("targetHealthyDeployPercentage"))
    if pct is not None:
        size = round(pct * desired / 100)
        return max(1, size) if pct > 0 and desired > 0 else size
    return desired


class _ServerGroupWait(BaseTask):
    """Polls the server groups of ``deploy.server.groups`` (or the stage's own) until a condition,
    at the provider's pace (Orca's 10 s for cloud providers, 500 ms for the local one)."""

    backoff_ms = 2_000
    timeout_ms: int | None = 2 * 3600 * 1000
    overridable_timeout = True

    async def execute(self, run: TaskRun) -> TaskResult:
        """One check; a RUNNING answer polls again after the provider's interval."""
        result = await self.check(run)
        if result.status != ExecutionStatus.RUNNING or result.backoff_ms is not None:
            return result
        try:
            provider, _ = provider_of(run)
        except BadStage:
            return result
        return replace(result, backoff_ms=waits_of(provider).poll_ms)

    async def check(self, run: TaskRun) -> TaskResult:  # pragma: no cover - always overridden
        """Look once."""
        raise NotImplementedError

    def names(self, run: TaskRun) -> dict[str, list[str]]:
        groups = run.stage.context.get("deploy.server.groups")
        if isinstance(groups, Mapping) and groups:
            return {str(r): [str(n) for n in names] for r, names in groups.items()}
        name = run.context.get("serverGroupName") or run.context.get("asgName")
        region = run.context.get("region")
        return {str(region): [str(name)]} if name and region else {}

    async def groups(self, run: TaskRun) -> tuple[dict[str, Mapping[str, Any] | None], dict[str, list[str]]]:
        provider, account = provider_of(run)
        wanted = self.names(run)
        found = {g["name"]: g for g in await fresh_server_groups(run, provider, account)}
        return {n: found.get(n) for names in wanted.values() for n in names}, wanted


class WaitForUpInstancesTask(_ServerGroupWait):
    """Every server group has its target number of instances up."""

    async def check(self, run: TaskRun) -> TaskResult:
        """Check the up count against the target."""
        try:
            groups, wanted = await self.groups(run)
        except BadStage as exc:
            return failed(str(exc))
        if not wanted:
            return failed("There are no server groups to wait for (deploy.server.groups is empty)")
        interesting = interesting_of(run.context)
        checks = {}
        for name, group in groups.items():
            if group is None:
                return TaskResult.running({"lastCapacityCheck": {"missing": name}})
            instances = group.get("instances") or []
            target = target_size(run.context, group)
            up = len(instances) if interesting == [] else sum(1 for i in instances if is_up(i, interesting))
            checks[name] = {"up": up, "target": target, "total": len(instances)}
            if len(instances) < target or up < target:
                return TaskResult.running(self._context(checks, target, up, instances))
        last = next(iter(checks.values()))
        return TaskResult.succeeded(
            {
                "targetDesiredSize": last["target"],
                "lastCapacityCheck": {"up": last["up"], "down": last["total"] - last["up"]},
            }
        )

    @staticmethod
    def _context(checks: dict[str, Any], target: int, up: int, instances: list[Any]) -> dict[str, Any]:
        return {
            "targetDesiredSize": target,
            "currentInstanceCount": len(instances),
            "lastCapacityCheck": {
                "up": up,
                "down": len(instances) - up,
                "outOfService": 0,
                "starting": 0,
                "succeeded": 0,
                "failed": 0,
                "unknown": 0,
            },
        }


class WaitForDownInstancesTask(_ServerGroupWait):
    """The instances a disable took out are down in every considered health."""

    async def check(self, run: TaskRun) -> TaskResult:
        """Check the instances (all, or the ones the disable named)."""
        interesting = interesting_of(run.context)
        if interesting == []:
            return TaskResult.succeeded()
        try:
            groups, _ = await self.groups(run)
        except BadStage as exc:
            return failed(str(exc))
        required = run.stage.context.get("instanceIdsToDisable")
        for group in groups.values():
            if group is None:
                continue
            instances = group.get("instances") or []
            if isinstance(required, list):
                instances = [i for i in instances if i.get("name") in required]
            if not all(is_down(i, interesting) for i in instances):
                return TaskResult.running()
        return TaskResult.succeeded()


class WaitForServerGroupDisabledTask(_ServerGroupWait):
    """The server group reports ``disabled`` (skipped for partial disables)."""

    async def check(self, run: TaskRun) -> TaskResult:
        """Check the flag."""
        pct = as_number(run.context.get("desiredPercentage"))
        if pct is not None and pct < 100:
            return TaskResult.succeeded()
        groups, _ = await self.groups(run)
        if all(g is None or g.get("disabled") for g in groups.values()):
            return TaskResult.succeeded()
        return TaskResult.running()


class WaitForCapacityMatchTask(_ServerGroupWait):
    """The server group has exactly its desired number of instances, up if it is enabled."""

    async def check(self, run: TaskRun) -> TaskResult:
        """Compare instance count and up count with the desired capacity."""
        groups, _ = await self.groups(run)
        interesting = interesting_of(run.context)
        for name, group in groups.items():
            if group is None:
                return failed(f"server group {name} no longer exists")
            instances = group.get("instances") or []
            desired = int((group.get("capacity") or {}).get("desired") or 0)
            if len(instances) != desired:
                return TaskResult.running({"currentInstanceCount": len(instances)})
            if not group.get("disabled") and interesting != []:
                pct = as_number(run.context.get("targetHealthyDeployPercentage"))
                target = desired if pct is None else math.ceil(desired * pct / 100)
                if sum(1 for i in instances if is_up(i, interesting)) < target:
                    return TaskResult.running({"currentInstanceCount": len(instances)})
        return TaskResult.succeeded()


class WaitForDestroyedServerGroupTask(_ServerGroupWait):
    """The server group is gone from the cluster."""

    async def check(self, run: TaskRun) -> TaskResult:
        """Done when the cache no longer has it."""
        groups, _ = await self.groups(run)
        if all(g is None for g in groups.values()):
            return TaskResult.succeeded()
        return TaskResult.running()
