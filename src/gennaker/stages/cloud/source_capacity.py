"""``captureSourceServerGroupCapacity`` and ``applySourceServerGroupCapacity`` (Orca's
CaptureSourceServerGroupCapacityTask / ApplySourceServerGroupCapacityStage).

Capture: a deploy (or a rollback) that copies its source's capacity instead pins the new server
group's min to the source's desired size and records the source's capacity as
``sourceServerGroupCapacitySnapshot``, so the new group cannot be scaled in below what served the
traffic while it takes over. Apply ("Restore Min Capacity From Snapshot"): afterwards, min goes
back to min(snapshot min, current min) on the server group of ``target`` (a rollback names it) or
of the nearest ancestor deploy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.graph import ancestors
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.stages._common import as_bool, failed, new_attempt
from gennaker.stages.cloud.support import BadStage, fresh_server_groups, outcome, provider_of, submit

SNAPSHOT = "sourceServerGroupCapacitySnapshot"


class CaptureSourceServerGroupCapacityTask(BaseTask):
    """With ``useSourceCapacity``: snapshot the source's capacity, ask for min = its desired."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Read the source server group."""
        ctx = run.context
        if not as_bool(ctx.get("useSourceCapacity"), False):
            return TaskResult.succeeded()
        raw = ctx.get("source")
        source: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        name = source.get("serverGroupName") or source.get("asgName")
        if not name:
            if as_bool(ctx.get("preferSourceCapacity"), False):
                return TaskResult.succeeded({"useSourceCapacity": False})
            return TaskResult.succeeded()
        try:
            provider, account = provider_of(
                run, {**ctx, "account": source.get("account") or ctx.get("account")}
            )
        except BadStage as exc:
            return failed(str(exc))
        region = source.get("region") or ctx.get("region")
        groups = await fresh_server_groups(run, provider, account, region=str(region) if region else None)
        found = next((g for g in groups if g["name"] == name), None)
        if found is None:
            return TaskResult.succeeded()
        capacity = {k: int(v) for k, v in (found.get("capacity") or {}).items()}
        return TaskResult.succeeded(
            {
                "useSourceCapacity": False,
                "source": {**source, "useSourceCapacity": False},
                SNAPSHOT: capacity,
                "capacity": {
                    "min": capacity["desired"],
                    "desired": capacity["desired"],
                    "max": capacity["max"],
                },
            }
        )


def _snapshot_stage(run: TaskRun) -> Stage | None:
    for stage in ancestors(run.execution, run.stage):
        if SNAPSHOT in stage.context:
            return stage
    return next(
        (
            s
            for s in run.execution.stages
            if SNAPSHOT in s.context and s.parent_stage_id == run.stage.parent_stage_id
        ),
        None,
    )


class ApplySourceServerGroupCapacityTask(BaseTask):
    """Resize the target's min to min(snapshot min, current min); nothing to do without a snapshot."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Find the snapshot and the server group, then resize."""
        holder = _snapshot_stage(run)
        if holder is None:
            return TaskResult.succeeded({"notes": "no capacity snapshot was taken; nothing to restore"})
        snapshot = holder.context[SNAPSHOT]
        target = run.context.get("target")
        if isinstance(target, Mapping):
            name = target.get("serverGroupName") or target.get("asgName")
            region = target.get("region")
            account_name = target.get("account") or target.get("credentials")
        else:
            deployed = holder.context.get("deploy.server.groups") or {}
            region, names = next(iter(deployed.items()), (None, []))
            name = names[0] if names else None
            account_name = holder.context.get("deploy.account.name") or holder.context.get("credentials")
        if not name:
            return TaskResult.succeeded({"notes": "no server group to restore the capacity of"})
        try:
            provider, account = provider_of(
                run, {"cloudProvider": run.context.get("cloudProvider"), "account": account_name}
            )
        except BadStage as exc:
            return failed(str(exc))
        groups = await fresh_server_groups(run, provider, account, region=str(region) if region else None)
        group = next((g for g in groups if g["name"] == name), None)
        if group is None:
            return failed(f"server group {name!r} does not exist in {account}/{region}")
        current = {k: int(v) for k, v in (group.get("capacity") or {}).items()}
        capacity = {**current, "min": min(int(snapshot.get("min", current["min"])), current["min"])}
        description = {
            "serverGroupName": name,
            "asgName": name,
            "region": region,
            "credentials": account,
            "cloudProvider": provider.id,
            "capacity": capacity,
        }
        record, context = await submit(run, provider, account, "resizeServerGroup", description)
        return outcome(
            record,
            context,
            {
                "serverGroupName": name,
                "region": region,
                "capacity": capacity,
                "deploy.server.groups": {str(region): [name]},
            },
        )


class CaptureSourceServerGroupCapacityStage(BaseStage):
    """ "Snapshot Source Server Group"."""

    type = "captureSourceServerGroupCapacity"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """One task."""
        return [TaskSpec("snapshotSourceServerGroup", "captureSourceServerGroupCapacity")]


class ApplySourceServerGroupCapacityStage(BaseStage):
    """ "Restore Min Capacity From Snapshot"."""

    type = "applySourceServerGroupCapacity"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """Resize, then check the operation."""
        new_attempt(stage)
        return [
            TaskSpec("restoreMinCapacity", "applySourceServerGroupCapacity"),
            TaskSpec("waitForCapacityMatch", "monitorOperation"),
        ]


def register(registry: Registry, settings: Any) -> None:
    """Add both stages and their tasks."""
    registry.add_task("captureSourceServerGroupCapacity", CaptureSourceServerGroupCapacityTask())
    registry.add_task("applySourceServerGroupCapacity", ApplySourceServerGroupCapacityTask())
    registry.add_stage(CaptureSourceServerGroupCapacityStage())
    registry.add_stage(ApplySourceServerGroupCapacityStage())
