"""``fail`` (a Gennaker addition): ends its branch with a message, for explicit failure paths.

``message`` may be an expression; the engine has evaluated it by the time the task runs. The
status follows the stage's failure options like any failed task: TERMINAL by default, STOPPED
with ``failPipeline: false``, FAILED_CONTINUE with ``continuePipeline: true``.
"""

from __future__ import annotations

from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.stages._common import failed


class FailTask(BaseTask):
    """Always fails, with the stage's message."""

    pure = True

    async def execute(self, run: TaskRun) -> TaskResult:
        """Fail with ``message`` (or a default naming the stage)."""
        message = run.context.get("message")
        if message is None or message == "":
            text = f"Stage {run.stage.name!r} failed the pipeline (fail stage without a message)"
        else:
            text = message if isinstance(message, str) else str(message)
        return failed(text, exception_type="FailStage")


class FailStage(BaseStage):
    """Fails its branch on purpose."""

    type = "fail"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """One failing task."""
        return [TaskSpec("fail", "failTask")]


def register(registry: Registry, settings: Any) -> None:
    """Add the fail stage type."""
    registry.add_task("failTask", FailTask())
    registry.add_stage(FailStage())
