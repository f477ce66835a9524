"""``wait`` (waitTime seconds, may be an expression) and ``waitUntil`` (epochMillis).

The task polls exactly when the time is up, so a waiting stage costs one delayed message.
``PATCH {skipRemainingWait: true}`` ends it early as SUCCEEDED.
"""

from __future__ import annotations

from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.stages._common import as_number


class WaitTask(BaseTask):
    """SUCCEEDED once startTime + waitTime has passed."""

    pure = True

    async def execute(self, run: TaskRun) -> TaskResult:
        """Check the clock."""
        if run.context.get("skipRemainingWait") is True:
            return TaskResult.succeeded()
        seconds = as_number(run.context.get("waitTime", 0))
        if seconds is None:
            return TaskResult.terminal(
                f"waitTime must be a number of seconds, got {run.context.get('waitTime')!r}"
            )
        started = run.stage.start_time or run.task_start_time
        due = started + int(seconds * 1000)
        remaining = due - run.now_ms
        if remaining <= 0:
            return TaskResult.succeeded()
        return TaskResult.running(backoff_ms=remaining)


class WaitUntilTask(BaseTask):
    """SUCCEEDED once the clock reaches epochMillis."""

    pure = True

    async def execute(self, run: TaskRun) -> TaskResult:
        """Check the clock."""
        if run.context.get("skipRemainingWait") is True:
            return TaskResult.succeeded()
        due = as_number(run.context.get("epochMillis"))
        if due is None:
            return TaskResult.terminal(
                f"epochMillis must be a number, got {run.context.get('epochMillis')!r}"
            )
        remaining = int(due) - run.now_ms
        if remaining <= 0:
            return TaskResult.succeeded()
        return TaskResult.running(backoff_ms=remaining)


class WaitStage(BaseStage):
    """Waits a number of seconds."""

    type = "wait"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """One wait task."""
        return [TaskSpec("wait", "waitTask")]


class WaitUntilStage(BaseStage):
    """Waits until an instant."""

    type = "waitUntil"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """One waitUntil task."""
        return [TaskSpec("waitUntil", "waitUntilTask")]


def register(registry: Registry, settings: Any) -> None:
    """Add wait and waitUntil."""
    registry.add_task("waitTask", WaitTask())
    registry.add_task("waitUntilTask", WaitUntilTask())
    registry.add_stage(WaitStage())
    registry.add_stage(WaitUntilStage())
