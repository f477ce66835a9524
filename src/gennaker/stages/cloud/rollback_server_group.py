"""``rollbackServerGroup`` (Orca's RollbackServerGroupStage with ExplicitRollback and
PreviousImageRollback, reference §5.7): after-stages chosen by ``rollbackType`` from
``rollbackContext``.

- EXPLICIT + ``disableOnly``: "Disable <rollback> due to rollback".
- EXPLICIT + ``enableAndDisableOnly``: "Enable <restore> due to rollback" (waiting for
  ``targetHealthyRollbackPercentage``), then the disable.
- EXPLICIT: ["Snapshot Source Server Group"] -> enable the restore server group -> [resize it to the
  larger of both capacities, min pinned, unless unchanged] -> ["waitBeforeDisable"] -> disable the
  rollback server group -> ["Restore Min Capacity From Snapshot due to rollback"].
- PREVIOUS_IMAGE: "clone" the rollback server group with the previous image, red/black.
- TEST: a "wait" of ``rollbackContext.waitTime`` seconds (Orca's test rollback).

Orca looks the two server groups up while planning; here a task does it first and records their
capacities in the context, so planning stays free of I/O (and a lookup failure is a clear TERMINAL).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, SyntheticStageSpec, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.model.moniker import parse_name
from gennaker.stages._common import ATTEMPT_ID, as_bool, as_int, failed, new_attempt
from gennaker.stages.cloud.resize_capacity import capacity_of
from gennaker.stages.cloud.support import BadStage, fresh_server_groups, provider_of, region_of

TYPES = ("EXPLICIT", "PREVIOUS_IMAGE", "TEST")
_LOOKED_UP = "rollbackServerGroupCapacities"


def rollback_type(ctx: Mapping[str, Any]) -> str | None:
    """The ``rollbackType``, upper-cased (None when absent)."""
    value = ctx.get("rollbackType")
    return str(value).strip().upper() if value else None


def rollback_context(ctx: Mapping[str, Any]) -> dict[str, Any]:
    """``rollbackContext`` (an empty one when absent)."""
    value = ctx.get("rollbackContext")
    return dict(value) if isinstance(value, Mapping) else {}


class CheckRollbackTask(BaseTask):
    """Validates the rollback and, for a full EXPLICIT one, records both server groups' capacities."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """TERMINAL naming the missing field; else the capacities the planning needs."""
        kind = rollback_type(run.context)
        if kind is None:
            return failed(f"Missing `rollbackType` (one of {', '.join(TYPES)})")
        if kind not in TYPES:
            return failed(
                f"rollbackType {run.context.get('rollbackType')!r} is not one of {', '.join(TYPES)}"
            )
        rb = rollback_context(run.context)
        if kind == "TEST":
            return TaskResult.succeeded()
        if not rb.get("rollbackServerGroupName"):
            return failed(
                "rollbackContext.rollbackServerGroupName is required (the server group to roll back)"
            )
        if kind == "PREVIOUS_IMAGE" and not (rb.get("imageName") or rb.get("imageId")):
            return failed(
                f"Unable to determine rollback image (serverGroupName: {rb['rollbackServerGroupName']}): "
                "give rollbackContext.imageId or imageName"
            )
        if kind != "EXPLICIT":
            return TaskResult.succeeded()
        if not as_bool(rb.get("disableOnly"), False) and not rb.get("restoreServerGroupName"):
            return failed("rollbackContext.restoreServerGroupName is required (the server group to restore)")
        if as_bool(rb.get("disableOnly"), False) or as_bool(rb.get("enableAndDisableOnly"), False):
            return TaskResult.succeeded()
        try:
            provider, account = provider_of(run)
            region = region_of(run, provider, account)
        except BadStage as exc:
            return failed(str(exc))
        groups = {g["name"]: g for g in await fresh_server_groups(run, provider, account, region=region)}
        found = {}
        for key in ("rollbackServerGroupName", "restoreServerGroupName"):
            group = groups.get(str(rb[key]))
            if group is None:
                return failed(
                    f"rollbackContext.{key}: server group {rb[key]!r} does not exist in {account}/{region}"
                )
            found[key] = capacity_of(group.get("capacity"))
        return TaskResult.succeeded({_LOOKED_UP: found, "region": region, "credentials": account})


def _explicit(stage: Stage, rb: Mapping[str, Any]) -> list[SyntheticStageSpec]:
    base = {k: v for k, v in stage.context.items() if k not in (ATTEMPT_ID, _LOOKED_UP)}
    rollback = str(rb["rollbackServerGroupName"])
    disable = SyntheticStageSpec(
        "disableServerGroup", f"Disable {rollback} due to rollback", {**base, "serverGroupName": rollback}
    )
    if as_bool(rb.get("disableOnly"), False):
        return [disable]
    restore = str(rb["restoreServerGroupName"])
    healthy = as_int(rb.get("targetHealthyRollbackPercentage"))
    enable = SyntheticStageSpec(
        "enableServerGroup",
        f"Enable {restore} due to rollback",
        {**base, "serverGroupName": restore, "targetHealthyDeployPercentage": healthy},
    )
    if as_bool(rb.get("enableAndDisableOnly"), False):
        return [enable, disable]
    specs: list[SyntheticStageSpec] = []
    resize = _resize(stage, base, restore, healthy)
    source = {
        "region": stage.context.get("region"),
        "credentials": stage.context.get("credentials"),
        "cloudProvider": stage.context.get("cloudProvider"),
    }
    if resize is not None and "sourceServerGroupCapacitySnapshot" not in stage.context:
        specs.append(
            SyntheticStageSpec(
                "captureSourceServerGroupCapacity",
                "Snapshot Source Server Group",
                {
                    "useSourceCapacity": True,
                    "source": {
                        "asgName": rollback,
                        "serverGroupName": rollback,
                        "region": source["region"],
                        "account": source["credentials"],
                        "cloudProvider": source["cloudProvider"],
                    },
                },
            )
        )
    specs.append(enable)
    if resize is not None:
        specs.append(resize)
    delay = as_int(rb.get("delayBeforeDisableSeconds"))
    if delay is not None and delay > 0:
        specs.append(SyntheticStageSpec("wait", "waitBeforeDisable", {"waitTime": delay}))
    specs.append(disable)
    if resize is not None:
        specs.append(
            SyntheticStageSpec(
                "applySourceServerGroupCapacity",
                "Restore Min Capacity From Snapshot due to rollback",
                {
                    "credentials": source["credentials"],
                    "cloudProvider": source["cloudProvider"],
                    "target": {
                        "asgName": restore,
                        "serverGroupName": restore,
                        "region": source["region"],
                        "account": source["credentials"],
                        "cloudProvider": source["cloudProvider"],
                    },
                },
            )
        )
    return specs


def _resize(
    stage: Stage, base: Mapping[str, Any], restore: str, healthy: int | None
) -> SyntheticStageSpec | None:
    """Grow the restore server group to the larger of both capacities, min pinned (None when that
    changes nothing, or when the capacities were not looked up)."""
    looked = stage.context.get(_LOOKED_UP)
    if not isinstance(looked, Mapping):
        return None
    rollback = capacity_of(looked.get("rollbackServerGroupName"))
    current = capacity_of(looked.get("restoreServerGroupName"))
    desired = max(rollback["desired"], current["desired"])
    wanted = {"min": desired, "max": max(rollback["max"], current["max"]), "desired": desired}
    if wanted == current:
        return None
    context = {
        **base,
        "action": "scale_exact",
        "capacity": wanted,
        "asgName": restore,
        "serverGroupName": restore,
        "targetLocation": {"type": "REGION", "value": stage.context.get("region")},
        "account": stage.context.get("credentials"),
        "pinMinimumCapacity": True,
        "targetHealthyDeployPercentage": healthy,
    }
    name = f"Resize Server Group: {restore} to (min: {wanted['min']}, max: {wanted['max']}, desired: {wanted['desired']})"
    return SyntheticStageSpec("resizeServerGroup", name, context)


def _previous_image(stage: Stage, rb: Mapping[str, Any]) -> list[SyntheticStageSpec]:
    ctx = stage.context
    rollback = str(rb["rollbackServerGroupName"])
    names = parse_name(rollback)
    moniker: Mapping[str, Any] = ctx["moniker"] if isinstance(ctx.get("moniker"), Mapping) else {}
    image_name = rb.get("imageName") or rb.get("imageId")
    clone: dict[str, Any] = {
        "targetHealthyDeployPercentage": as_int(rb.get("targetHealthyRollbackPercentage")),
        "imageId": rb.get("imageId") or image_name,
        "imageName": image_name,
        "amiName": image_name,
        "strategy": "redblack",
        "application": moniker.get("app") or names.app,
        "stack": moniker.get("stack") or names.stack,
        "freeFormDetails": moniker.get("detail") or names.detail,
        "region": ctx.get("region"),
        "credentials": ctx.get("credentials"),
        "cloudProvider": ctx.get("cloudProvider"),
        "delayBeforeDisableSec": as_int(rb.get("delayBeforeDisableSeconds")) or 0,
        "targetGroups": ctx.get("targetGroups"),
        "securityGroups": ctx.get("securityGroups"),
        "source": {
            "asgName": rollback,
            "serverGroupName": rollback,
            "account": ctx.get("credentials"),
            "region": ctx.get("region"),
            "cloudProvider": ctx.get("cloudProvider"),
            "useSourceCapacity": True,
        },
    }
    if "sourceServerGroupCapacitySnapshot" in ctx:
        clone["source"]["useSourceCapacity"] = False
        clone["capacity"] = ctx["sourceServerGroupCapacitySnapshot"]
    if "interestingHealthProviderNames" in ctx:
        clone["interestingHealthProviderNames"] = ctx["interestingHealthProviderNames"]
    return [SyntheticStageSpec("cloneServerGroup", "clone", clone)]


class RollbackServerGroupStage(BaseStage):
    """``rollbackServerGroup``."""

    type = "rollbackServerGroup"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """Check the rollback (and look up what its planning needs)."""
        new_attempt(stage)
        return [TaskSpec("checkRollback", "checkRollbackTask")]

    def after_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """The rollback's stages, by type."""
        kind = rollback_type(stage.context)
        rb = rollback_context(stage.context)
        if kind == "EXPLICIT":
            return _explicit(stage, rb)
        if kind == "PREVIOUS_IMAGE":
            return _previous_image(stage, rb)
        if kind == "TEST":  # Orca's TestRollback: only a wait, for exercising rollbacks
            return [SyntheticStageSpec("wait", "wait", {"waitTime": rb.get("waitTime")})]
        return []

    def prepare_for_restart(self, stage: Stage) -> None:
        """Look the server groups up again."""
        stage.context.pop(_LOOKED_UP, None)


def register(registry: Registry, settings: Any) -> None:
    """Add rollbackServerGroup."""
    registry.add_task("checkRollbackTask", CheckRollbackTask())
    registry.add_stage(RollbackServerGroupStage())
