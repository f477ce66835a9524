"""``pinServerGroup`` (Orca's PinServerGroupStage): a resize without waiting for instances, used
to pin a server group's min to its desired size so nothing scales it in while traffic moves
(``pinMinimumCapacity``), and to unpin it afterwards (``unpinMinimumCapacity``: min back to the
``originalCapacity.<name>`` the pin recorded). Its context is a resize's: usually
``action: scale_to_server_group`` with ``source`` naming the server group itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.stages._common import as_bool, new_attempt


class RecallOriginalCapacityTask(BaseTask):
    """An unpin that does not descend from its pin (a failed rolling deploy's "Unpin <source>"
    runs in a chain of its own) finds the pin's ``originalCapacity.<name>`` on a sibling stage,
    so the source's min really goes back to what it was."""

    pure = True

    async def execute(self, run: TaskRun) -> TaskResult:
        """Copy the sibling pin's recorded capacity into this stage's context."""
        source = run.context.get("source")
        name = source.get("serverGroupName") if isinstance(source, Mapping) else None
        name = name or run.context.get("serverGroupName")
        key = f"originalCapacity.{name}"
        if not as_bool(run.context.get("unpinMinimumCapacity"), False) or not name or key in run.context:
            return TaskResult.succeeded()
        for stage in run.execution.stages:
            if (
                stage.type == "pinServerGroup"
                and stage.parent_stage_id == run.stage.parent_stage_id
                and isinstance(stage.outputs.get(key), Mapping)
            ):
                return TaskResult.succeeded({key: dict(stage.outputs[key])})
        return TaskResult.succeeded()


class PinServerGroupStage(BaseStage):
    """Resolve the server group, resize it, check the operation (no wait for capacity)."""

    type = "pinServerGroup"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """[recall the pin's capacity] -> determineTargetServerGroup -> resizeServerGroup -> monitor."""
        new_attempt(stage)
        return [
            TaskSpec("recallOriginalCapacity", "recallOriginalCapacity"),
            TaskSpec("determineTargetServerGroup", "resolveTargetServerGroup"),
            TaskSpec("resizeServerGroup", "resizeServerGroupTask"),
            TaskSpec("monitorServerGroup", "monitorOperation"),
        ]

    def prepare_for_restart(self, stage: Stage) -> None:
        """A restart resizes again."""
        for key in ("kato.tasks", "kato.last.task.id"):
            stage.context.pop(key, None)


def register(registry: Registry, settings: Any) -> None:
    """Add pinServerGroup (its other tasks are the resize stage's)."""
    registry.add_task("recallOriginalCapacity", RecallOriginalCapacityTask())
    registry.add_stage(PinServerGroupStage())
