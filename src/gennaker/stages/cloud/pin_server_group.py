"""``pinServerGroup`` (Orca's PinServerGroupStage): a resize without waiting for instances, used
to pin a server group's min to its desired size so nothing scales it in while traffic moves
(``pinMinimumCapacity``), and to unpin it afterwards (``unpinMinimumCapacity``: min back to the
``originalCapacity.<name>`` the pin recorded). Its context is a resize's: usually
``action: scale_to_server_group`` with ``source`` naming the server group itself."""

from __future__ import annotations

from typing import Any

from gennaker.engine.contracts import BaseStage, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.stages._common import new_attempt


class PinServerGroupStage(BaseStage):
    """Resolve the server group, resize it, check the operation (no wait for capacity)."""

    type = "pinServerGroup"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """determineTargetServerGroup -> resizeServerGroup -> monitorServerGroup."""
        new_attempt(stage)
        return [
            TaskSpec("determineTargetServerGroup", "resolveTargetServerGroup"),
            TaskSpec("resizeServerGroup", "resizeServerGroupTask"),
            TaskSpec("monitorServerGroup", "monitorOperation"),
        ]

    def prepare_for_restart(self, stage: Stage) -> None:
        """A restart resizes again."""
        for key in ("kato.tasks", "kato.last.task.id"):
            stage.context.pop(key, None)


def register(registry: Registry, settings: Any) -> None:
    """Add pinServerGroup (its tasks are the resize stage's)."""
    registry.add_stage(PinServerGroupStage())
