"""Stage types for engine tests: their behaviour is scripted by their context, so a pipeline JSON
says what each stage does (succeed after N polls, fail, raise, publish outputs, record a run)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, SyntheticStageSpec, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.hookspecs import hookimpl
from gennaker.model.execution import Execution, Stage
from gennaker.model.status import ExecutionStatus


class ScriptedTask(BaseTask):
    """``polls``: RUNNING this many times first; ``result``: final status; ``outputs``; ``raise``."""

    pure = False
    backoff_ms = 1_000

    async def execute(self, run: TaskRun) -> TaskResult:
        count = int(run.stage.context.get("pollCount", 0)) + 1
        if run.context.get("raise"):
            raise RuntimeError(str(run.context["raise"]))
        if count <= int(run.context.get("polls", 0)):
            return TaskResult.running({"pollCount": count})
        status = ExecutionStatus(run.context.get("result", "SUCCEEDED"))
        # Fail only the first N attempts (for retry tests): attempts counted across restarts.
        fail_first = int(run.context.get("failFirstAttempts", 0))
        attempt = len(run.stage.context.get("retryAttempts", [])) + 1
        if fail_first and attempt > fail_first:
            status = ExecutionStatus.SUCCEEDED
        context: dict[str, Any] = {"pollCount": count, "sawOutcome": run.execution.state.get("outcome")}
        if status == ExecutionStatus.TERMINAL:
            context["exception"] = {"details": {"error": "scripted failure", "errors": ["scripted failure"]}}
        seen = {k: run.context.get(k) for k in run.context.get("readKeys", [])}
        if seen:
            context["seen"] = seen
        return TaskResult(status, context, dict(run.context.get("outputs", {})))


class PureTask(BaseTask):
    """Succeeds at once inside the transaction (the cheapest possible task)."""

    pure = True

    async def execute(self, run: TaskRun) -> TaskResult:
        return TaskResult.succeeded(outputs=dict(run.context.get("outputs", {})))


class ScriptedStage(BaseStage):
    type = "scripted"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        return [TaskSpec("scripted", "scriptedTask")]


class NoopStage(BaseStage):
    type = "noop"
    aliases = ("nothing",)

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        return [TaskSpec("noop", "pureTask")]


class ParentStage(BaseStage):
    """Plans synthetic children from ``before``/``after``/``onFailure`` lists of stage contexts."""

    type = "parent"

    def _specs(self, stage: Stage, key: str) -> list[SyntheticStageSpec]:
        return [
            SyntheticStageSpec("scripted", f"{key}-{i}", spec, chained=bool(spec.get("chained", True)))
            for i, spec in enumerate(stage.context.get(key, []))
        ]

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        return [TaskSpec("scripted", "scriptedTask")] if stage.context.get("ownTask", True) else []

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        return self._specs(stage, "before")

    def after_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        return self._specs(stage, "after")

    def on_failure_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        return self._specs(stage, "onFailure")


class CancellableStage(BaseStage):
    """Runs until canceled; its cancel hook records that it was called."""

    type = "cancellable"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        return [TaskSpec("scripted", "scriptedTask")]

    @property
    def cancellable(self) -> bool:
        return True

    async def cancel(self, execution: Execution, stage: Stage, services: Any) -> Mapping[str, Any] | None:
        return {"cleanedUp": stage.ref_id}


class BindArtifactsTestStage(BaseStage):
    """Only the shared bindProducedArtifacts task: binds ``expectedArtifacts`` to ``artifacts``."""

    type = "bindArtifactsTest"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        return [TaskSpec("bindProducedArtifacts", "bindProducedArtifacts")]


class EngineTestPlugin:
    @hookimpl
    def register_stages(self, registry: Registry, settings: Any) -> None:
        registry.add_task("scriptedTask", ScriptedTask())
        registry.add_task("pureTask", PureTask())
        for stage in (
            ScriptedStage(),
            NoopStage(),
            ParentStage(),
            CancellableStage(),
            BindArtifactsTestStage(),
        ):
            registry.add_stage(stage)
