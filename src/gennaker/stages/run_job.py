"""``runJob``: runs a job on the provider named by ``cloudProvider``.

The work is done by the stage type ``runJob_<cloudProvider>`` (Spinnaker's ``type_providerType``
convention): ``runJob_local`` is built in (run_job_local.py); providers add their own through the
same ``register_stages`` hook. This stage hands every question (tasks, synthetic stages, restart,
cancel, manual skip) to that type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gennaker.engine.contracts import (
    BaseStage,
    BaseTask,
    StageDefinition,
    SyntheticStageSpec,
    TaskResult,
    TaskRun,
    TaskSpec,
)
from gennaker.engine.registry import Registry
from gennaker.model.execution import Execution, Stage
from gennaker.stages._common import failed

if TYPE_CHECKING:
    from gennaker.engine.contracts import EngineServices

PREFIX = "runJob_"


def _providers(registry: Registry) -> list[str]:
    return [name[len(PREFIX) :] for name in registry.stage_types() if name.startswith(PREFIX)]


class UnsupportedRunJobTask(BaseTask):
    """Fails a runJob whose provider is not installed."""

    pure = True

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    async def execute(self, run: TaskRun) -> TaskResult:
        """Say which providers there are (the message a save of the pipeline gives too)."""
        provider = run.context.get("cloudProvider")
        if not provider:
            available = ", ".join(_providers(self.registry)) or "none"
            return failed(f"runJob needs cloudProvider (available here: {available})")
        problem = self.registry.provider_problem("runJob", str(provider))
        return failed(problem or f"runJob with cloudProvider {provider!r} could not be planned")


class RunJobStage(BaseStage):
    """Dispatches to ``runJob_<cloudProvider>``."""

    type = "runJob"

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def _target(self, stage: Stage) -> StageDefinition | None:
        provider = stage.context.get("cloudProvider")
        name = f"{PREFIX}{provider}"
        if isinstance(provider, str) and self.registry.has_stage(name):
            return self.registry.stage(name)
        return None

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """The provider's tasks, or one that explains why there are none."""
        target = self._target(stage)
        return target.tasks(stage) if target else [TaskSpec("runJob", "unsupportedRunJobTask")]

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """The provider's."""
        target = self._target(stage)
        return target.before_stages(stage) if target else []

    def after_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """The provider's."""
        target = self._target(stage)
        return target.after_stages(stage) if target else []

    def on_failure_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """The provider's."""
        target = self._target(stage)
        return target.on_failure_stages(stage) if target else []

    def can_manually_skip(self, stage: Stage) -> bool:
        """The provider's answer."""
        target = self._target(stage)
        return target.can_manually_skip(stage) if target else False

    def prepare_for_restart(self, stage: Stage) -> None:
        """The provider's reset."""
        target = self._target(stage)
        if target:
            target.prepare_for_restart(stage)

    @property
    def cancellable(self) -> bool:
        """Depends on the provider; the call is cheap when it has nothing to do."""
        return True

    async def cancel(
        self, execution: Execution, stage: Stage, services: EngineServices
    ) -> Mapping[str, Any] | None:
        """The provider's cancel."""
        target = self._target(stage)
        if target is None or not target.cancellable:
            return None
        return await target.cancel(execution, stage, services)


def register(registry: Registry, settings: Any) -> None:
    """Add the runJob stage type."""
    registry.add_task("unsupportedRunJobTask", UnsupportedRunJobTask(registry))
    registry.add_stage(RunJobStage(registry))
