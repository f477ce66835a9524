"""``resizeServerGroup``, ``enableServerGroup``, ``disableServerGroup``, ``destroyServerGroup``
(Orca's stages of the same names, reference §4.2, planned as Orca's
TargetServerGroupLinearStageSupport plans them).

A top-level stage runs no task itself: with a dynamic ``target`` it plans a
``determineTargetServerGroup`` stage and then one child of its own type per location (``region``
or every entry of ``regions``) with ``targetLocation``; with a static target, one child per
location. A child (or a stage planned by a strategy) resolves its server group, submits the
operation, monitors it and waits for the result to show in the read model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, SyntheticStageSpec, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.stages._common import ATTEMPT_ID, as_bool, as_number, failed, new_attempt
from gennaker.stages.cloud.cluster_support import locations_of
from gennaker.stages.cloud.resize_capacity import action_of, capacity_of, resize_capacity
from gennaker.stages.cloud.support import (
    BadStage,
    cached_server_groups,
    cluster_of,
    outcome,
    provider_of,
    submit,
)
from gennaker.stages.cloud.targets import STAGE_TYPE as DTSG
from gennaker.stages.cloud.targets import is_dynamic
from gennaker.stages.cloud.waits import (
    WaitForCapacityMatchTask,
    WaitForDestroyedServerGroupTask,
    WaitForDownInstancesTask,
    WaitForServerGroupDisabledTask,
)


class ResizeServerGroupTask(BaseTask):
    """Submits ``resizeServerGroup`` with the computed capacity."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Compute the capacity from the current one and the action, then resize."""
        try:
            provider, account = provider_of(run)
        except BadStage as exc:
            return failed(str(exc))
        name = run.stage.context["serverGroupName"]
        groups = cached_server_groups(run, provider, account)
        group = next((g for g in groups if g["name"] == name), None)
        if group is None:
            return failed(f"server group {name!r} does not exist in {account}")
        current = capacity_of(group.get("capacity"))
        action = action_of(run.context)
        source_capacity = None
        if action == "scale_to_server_group":
            source: Mapping[str, Any] = (
                run.context["source"] if isinstance(run.context.get("source"), Mapping) else {}
            )
            source_name = source.get("serverGroupName") or source.get("asgName")
            found = next((g for g in groups if g["name"] == source_name), None)
            if source_name and found is None:
                return failed(f"source server group {source_name!r} does not exist in {account}")
            source_capacity = capacity_of(found.get("capacity")) if found is not None else None
        cluster = cluster_of(run.context) or group.get("cluster")
        siblings = [
            g for g in groups if g.get("cluster") == cluster and g.get("region") == group.get("region")
        ]
        capacity = resize_capacity(run.context, current, source=source_capacity, cluster=siblings)
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


_LOCATION_KEYS = ("region", "regions", "zone", "zones")
_DISABLE_KEYS = (
    "serverGroupName",
    "asgName",
    "target",
    "targetLocation",
    "cluster",
    "moniker",
    "credentials",
    "account",
    "cloudProvider",
    "region",
    "interestingHealthProviderNames",
    "drainSeconds",
)


class TargetStage(BaseStage):
    """A stage that acts on one server group per location."""

    def __init__(self, type_name: str, act: tuple[str, str], waits: list[tuple[str, str]]) -> None:
        self.type = type_name
        self._act = act
        self._waits = waits

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """None at the top level (its children act); else resolve -> act -> monitor -> waits."""
        if stage.parent_stage_id is None:
            return []
        new_attempt(stage)
        return [
            TaskSpec("determineTargetServerGroup", "resolveTargetServerGroup"),
            TaskSpec(*self._act),
            TaskSpec("monitorServerGroup", "monitorOperation"),
            *(TaskSpec(*w) for w in self._waits),
        ]

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Top level: [determineTargetServerGroup] then a child per location. A destroy child
        disables first unless ``skipDisableBeforeDestroy``."""
        if stage.parent_stage_id is None:
            return self._compose(stage)
        if (
            self.type != "destroyServerGroup"
            or "targetLocation" not in stage.context
            or as_bool(stage.context.get("skipDisableBeforeDestroy"), False)
        ):
            return []
        context = {k: v for k, v in stage.context.items() if k in _DISABLE_KEYS}
        return [SyntheticStageSpec("disableServerGroup", "disableServerGroup", context)]

    def _compose(self, stage: Stage) -> list[SyntheticStageSpec]:
        ctx = stage.context
        locations = locations_of(ctx) or [""]
        shared = {k: v for k, v in ctx.items() if k not in (*_LOCATION_KEYS, ATTEMPT_ID)}
        specs = []
        if is_dynamic(ctx):
            for key in _LOCATION_KEYS:
                ctx.pop(key, None)
            dtsg = dict(shared)
            if locations != [""]:
                dtsg["regions"] = locations
            specs.append(SyntheticStageSpec(DTSG, DTSG, dtsg, chained=False))
        for location in locations:
            child = dict(shared)
            if location:
                child["region"] = location
                child["targetLocation"] = {"type": "REGION", "value": location}
                child["deployServerGroupsRegion"] = location
            else:
                child["targetLocation"] = {"type": "REGION", "value": None}
            specs.append(SyntheticStageSpec(self.type, self.type, child))
        return specs

    def prepare_for_restart(self, stage: Stage) -> None:
        """A restart acts again."""
        for key in ("kato.tasks", "kato.last.task.id"):
            stage.context.pop(key, None)


def register(registry: Registry, settings: Any) -> None:
    """Add the four server group stages and their tasks."""
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
