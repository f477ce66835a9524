"""``resizeServerGroup``, ``enableServerGroup``, ``disableServerGroup``, ``destroyServerGroup``
(Orca's stages of the same names, reference §4.2): determine the target, submit the operation,
monitor it, wait for the result to show in the read model."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, SyntheticStageSpec, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.stages._common import as_bool, as_int, as_number, failed, new_attempt
from gennaker.stages.cloud.capacity import action_of, relative_capacity, scaled_and_pinned
from gennaker.stages.cloud.support import BadStage, cached_server_groups, outcome, provider_of, submit
from gennaker.stages.cloud.targets import DetermineTargetServerGroupTask
from gennaker.stages.cloud.waits import (
    WaitForCapacityMatchTask,
    WaitForDestroyedServerGroupTask,
    WaitForDownInstancesTask,
    WaitForServerGroupDisabledTask,
)


def resize_capacity(ctx: Mapping[str, Any], current: Mapping[str, int]) -> dict[str, int] | str:
    """The new capacity for Orca's resize actions (or a message naming the bad field)."""
    action = str(ctx.get("action") or "").lower()
    if str(ctx.get("resizeType") or "").lower() == "exact" or not action:
        action = "scale_exact"
    if action == "scale_exact":
        wanted = ctx.get("capacity")
        if not isinstance(wanted, Mapping):
            return 'capacity must be an object like {"min": 1, "max": 3, "desired": 2}'
        parts = {k: as_int(wanted.get(k)) for k in ("min", "max", "desired")}
        for key, raw in wanted.items():
            if key in parts and raw not in (None, "") and parts[key] is None:
                return f"capacity.{key} must be a whole number (got {raw!r})"
        if parts["min"] is not None and parts["max"] is not None and parts["min"] > parts["max"]:
            return f"capacity: min ({parts['min']}) is greater than max ({parts['max']}); make min <= desired <= max"
        low = parts["min"] if parts["min"] is not None else current.get("min", 0)
        if parts["max"] is not None:
            low = min(low, parts["max"])
        high = parts["max"] if parts["max"] is not None else max(low, current.get("max", 0))
        desired = (
            parts["desired"]
            if parts["desired"] is not None
            else min(max(current.get("desired", 0), low), high)
        )
        if parts["desired"] is not None and not low <= desired <= high:
            return f"capacity.desired ({desired}) must be between min ({low}) and max ({high})"
        return {"min": low, "max": high, "desired": desired}
    if action in ("scale_up", "scale_down"):
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
    return f"action {ctx.get('action')!r} is not supported here; use scale_exact, scale_up or scale_down"


class ResizeServerGroupTask(BaseTask):
    """Submits ``resizeServerGroup`` with the computed capacity."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Compute the capacity from the current one and the action, then resize."""
        try:
            provider, account = provider_of(run)
        except BadStage as exc:
            return failed(str(exc))
        name = run.stage.context["serverGroupName"]
        group = next((g for g in cached_server_groups(run, provider, account) if g["name"] == name), None)
        if group is None:
            return failed(f"server group {name!r} does not exist in {account}")
        current = {k: int(v) for k, v in (group.get("capacity") or {}).items()}
        relative = await relative_capacity(run, provider, account, group)
        if relative is not None:
            capacity: dict[str, int] | str = relative
        else:
            capacity = resize_capacity(run.context, current)
            if not isinstance(capacity, str) and action_of(run.context) == "scale_exact":
                capacity = scaled_and_pinned(run.context, capacity)
        if isinstance(capacity, str):
            return failed(capacity)
        description = {**run.context, "serverGroupName": name, "capacity": capacity, "credentials": account}
        record, context = await submit(run, provider, account, "resizeServerGroup", description)
        context["notification.type"] = "resizeservergroup"
        extra = {"capacity": capacity, "originalCapacity": current}
        result = outcome(record, context, extra)
        if record.status == "SUCCEEDED":
            return TaskResult(result.status, result.context, {f"originalCapacity.{name}": current})
        return result


class _OperationTask(BaseTask):
    operation = ""
    notification = ""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Submit the operation for the resolved server group."""
        try:
            provider, account = provider_of(run)
        except BadStage as exc:
            return failed(str(exc))
        name = run.stage.context["serverGroupName"]
        description = {**run.context, "serverGroupName": name, "asgName": name, "credentials": account}
        record, context = await submit(run, provider, account, self.operation, description)
        context["notification.type"] = self.notification
        extra: dict[str, Any] = {}
        region = run.stage.context.get("region")
        if self.operation in ("enableServerGroup", "disableServerGroup"):
            extra[f"targetop.asg.{self.operation}.name"] = name
            extra[f"targetop.asg.{self.operation}.regions"] = [region]
        if (
            record.result
            and "instanceIdsToDisable" in record.result
            and self.operation == "disableServerGroup"
        ):
            pct = as_number(run.context.get("desiredPercentage"))
            if pct is not None and pct < 100:
                extra["instanceIdsToDisable"] = record.result["instanceIdsToDisable"]
                extra["discoverySkippedInstanceIds"] = []
        return outcome(record, context, extra)


class EnableServerGroupTask(_OperationTask):
    """Puts the server group back in rotation."""

    operation, notification = "enableServerGroup", "enableservergroup"


class DisableServerGroupTask(_OperationTask):
    """Drains and takes the server group (or desiredPercentage of it) out of rotation."""

    operation, notification = "disableServerGroup", "disableservergroup"


class DestroyServerGroupTask(_OperationTask):
    """Stops and deletes the server group."""

    operation, notification = "destroyServerGroup", "destroyservergroup"


class TargetStage(BaseStage):
    """A stage that acts on one server group: resolve, act, monitor, wait."""

    def __init__(self, type_name: str, act: tuple[str, str], waits: list[tuple[str, str]]) -> None:
        self.type = type_name
        self._act = act
        self._waits = waits

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """determineTargetServerGroup -> the operation -> monitor -> waits."""
        new_attempt(stage)
        return [
            TaskSpec("determineTargetServerGroup", "determineTargetServerGroup"),
            TaskSpec(*self._act),
            TaskSpec("monitorServerGroup", "monitorOperation"),
            *(TaskSpec(*w) for w in self._waits),
        ]

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """destroyServerGroup disables first unless ``skipDisableBeforeDestroy``."""
        if self.type != "destroyServerGroup" or as_bool(stage.context.get("skipDisableBeforeDestroy"), False):
            return []
        keep = (
            "serverGroupName",
            "asgName",
            "target",
            "cluster",
            "moniker",
            "credentials",
            "account",
            "cloudProvider",
            "region",
            "regions",
            "interestingHealthProviderNames",
            "drainSeconds",
        )
        context = {k: v for k, v in stage.context.items() if k in keep}
        return [SyntheticStageSpec("disableServerGroup", "disableServerGroup", context)]

    def prepare_for_restart(self, stage: Stage) -> None:
        """A restart acts again."""
        for key in ("kato.tasks", "kato.last.task.id"):
            stage.context.pop(key, None)


def register(registry: Registry, settings: Any) -> None:
    """Add the four server group stages and their tasks."""
    registry.add_task("determineTargetServerGroup", DetermineTargetServerGroupTask())
    registry.add_task("resizeServerGroupTask", ResizeServerGroupTask())
    registry.add_task("enableServerGroupTask", EnableServerGroupTask())
    registry.add_task("disableServerGroupTask", DisableServerGroupTask())
    registry.add_task("destroyServerGroupTask", DestroyServerGroupTask())
    registry.add_task("waitForCapacityMatch", WaitForCapacityMatchTask())
    registry.add_task("waitForDownInstances", WaitForDownInstancesTask())
    registry.add_task("waitForServerGroupDisabled", WaitForServerGroupDisabledTask())
    registry.add_task("waitForDestroyedServerGroup", WaitForDestroyedServerGroupTask())
    registry.add_stage(
        TargetStage(
            "resizeServerGroup",
            ("resizeServerGroup", "resizeServerGroupTask"),
            [("waitForCapacityMatch", "waitForCapacityMatch")],
        )
    )
    registry.add_stage(
        TargetStage(
            "enableServerGroup",
            ("enableServerGroup", "enableServerGroupTask"),
            [("waitForUpInstances", "waitForUpInstances")],
        )
    )
    registry.add_stage(
        TargetStage(
            "disableServerGroup",
            ("disableServerGroup", "disableServerGroupTask"),
            [
                ("waitForDownInstances", "waitForDownInstances"),
                ("waitForServerGroupDisabled", "waitForServerGroupDisabled"),
            ],
        )
    )
    registry.add_stage(
        TargetStage(
            "destroyServerGroup",
            ("destroyServerGroup", "destroyServerGroupTask"),
            [("waitForDestroyedServerGroup", "waitForDestroyedServerGroup")],
        )
    )
