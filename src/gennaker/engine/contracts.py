"""What a stage type and a task are (Orca's StageDefinitionBuilder and Task).

A stage type declares its tasks (run one after another) and the synthetic stages it plans before
its tasks, after them, and on failure. A task is async and returns a TaskResult; a task that waits
returns RUNNING and is polled again after its backoff, so waiting costs no thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from gennaker.model.execution import Execution, Stage
from gennaker.model.status import ExecutionStatus

if TYPE_CHECKING:
    from gennaker.clock import Clock
    from gennaker.config import Settings
    from gennaker.db import Database
    from gennaker.engine.ports import (
        AccessControl,
        Evaluator,
        ExecutionControl,
        PipelineStarter,
        PolicyGate,
    )
    from gennaker.queue.base import Queue
    from gennaker.store.executions import ExecutionRepository
    from gennaker.store.pipelines import PipelineConfigRepository
    from gennaker.store.templates import PipelineTemplateRepository


@dataclass(frozen=True)
class TaskResult:
    """What one run of a task produced."""

    status: ExecutionStatus
    #: Merged into the stage's context (stage-scoped).
    context: Mapping[str, Any] = field(default_factory=dict)
    #: Merged into the stage's outputs (visible to downstream stages).
    outputs: Mapping[str, Any] = field(default_factory=dict)
    #: Poll again after this many ms (RUNNING only); overrides the task's backoff.
    backoff_ms: int | None = None

    @classmethod
    def running(
        cls, context: Mapping[str, Any] | None = None, *, backoff_ms: int | None = None
    ) -> TaskResult:
        """Not done yet; poll again."""
        return cls(ExecutionStatus.RUNNING, context or {}, backoff_ms=backoff_ms)

    @classmethod
    def succeeded(
        cls, context: Mapping[str, Any] | None = None, outputs: Mapping[str, Any] | None = None
    ) -> TaskResult:
        """Done."""
        return cls(ExecutionStatus.SUCCEEDED, context or {}, outputs or {})

    @classmethod
    def terminal(cls, error: str, context: Mapping[str, Any] | None = None) -> TaskResult:
        """Failed; ``error`` goes to ``context.exception.details.errors`` like Orca's task failures."""
        ctx = dict(context or {})
        ctx["exception"] = {"details": {"error": error, "errors": [error]}, "exceptionType": "TaskFailed"}
        return cls(ExecutionStatus.TERMINAL, ctx)


class TransientTaskError(Exception):
    """Raised by a task for a failure worth retrying (network, 5xx): polled again after the backoff,
    until the task's timeout."""


@dataclass
class TaskRun:
    """What a task sees while it runs: the execution and its stage, context already evaluated.

    ``stage.context`` here is the evaluated context with ancestor outputs falling through; the
    stored stage is not changed by the task, only through its TaskResult.
    """

    execution: Execution
    stage: Stage
    context: Mapping[str, Any]
    task_id: str
    task_start_time: int
    services: EngineServices

    @property
    def now_ms(self) -> int:
        """The injected clock's time."""
        now: int = self.services.clock.now_ms()
        return now


class Task(Protocol):
    """One step of a stage."""

    #: Delay between polls while RUNNING (ms). Orca: 1 s for plain tasks.
    backoff_ms: int
    #: Give up after this long (ms since the task started, minus paused time); None = never.
    timeout_ms: int | None
    #: A wait/monitor task whose timeout the stage's ``stageTimeoutMs`` replaces.
    overridable_timeout: bool
    #: True when execute() does no I/O and is quick, so the engine may run it inside a transaction.
    pure: bool

    async def execute(self, run: TaskRun) -> TaskResult:
        """Do (or check) the work."""
        ...

    async def on_timeout(self, run: TaskRun) -> TaskResult | None:
        """Called when the task timed out; a result here replaces the default failure."""
        ...

    async def on_cancel(self, run: TaskRun) -> TaskResult | None:
        """Called when the execution is canceled while this task runs."""
        ...


class BaseTask:
    """Defaults for Task: a plain task polled every second, no timeout, no I/O hooks."""

    backoff_ms: int = 1_000
    timeout_ms: int | None = None
    overridable_timeout: bool = False
    pure: bool = False

    async def execute(self, run: TaskRun) -> TaskResult:  # pragma: no cover - always overridden
        """Do the work."""
        raise NotImplementedError

    async def on_timeout(self, run: TaskRun) -> TaskResult | None:
        """No special timeout handling."""
        return None

    async def on_cancel(self, run: TaskRun) -> TaskResult | None:
        """No special cancel handling."""
        return None


@dataclass(frozen=True)
class TaskSpec:
    """A task a stage plans: display name and the registered task type that implements it."""

    name: str
    task_type: str


@dataclass(frozen=True)
class SyntheticStageSpec:
    """A child stage a stage plans before/after its tasks or on failure."""

    type: str
    name: str
    context: Mapping[str, Any] = field(default_factory=dict)
    #: Chained after the previous synthetic sibling (True) or parallel to it (False).
    chained: bool = True


class StageDefinition(Protocol):
    """A stage type."""

    #: The type name pipelines use (``"wait"``).
    type: str
    #: Older or alternative names that resolve to this type.
    aliases: tuple[str, ...]

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """The stage's tasks, run in order."""
        ...

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Stages that run before the tasks (planned when the stage starts)."""
        ...

    def after_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Stages that run after the tasks (planned when the tasks end)."""
        ...

    def on_failure_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Stages that run when the stage fails (planned once, chained)."""
        ...

    def can_manually_skip(self, stage: Stage) -> bool:
        """Whether ``PATCH {manualSkip: true}`` may skip this stage."""
        ...

    def prepare_for_restart(self, stage: Stage) -> None:
        """Reset type-specific context before a restart (e.g. clear a judgment)."""
        ...

    async def cancel(
        self, execution: Execution, stage: Stage, services: EngineServices
    ) -> Mapping[str, Any] | None:
        """Undo or stop external work when the stage is canceled or fails; the result is recorded."""
        ...

    @property
    def cancellable(self) -> bool:
        """Whether ``cancel`` does anything."""
        ...


class BaseStage:
    """Defaults for StageDefinition: no synthetic stages, not skippable, nothing to cancel."""

    type: str = ""
    aliases: tuple[str, ...] = ()

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """No tasks."""
        return []

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """No before stages."""
        return []

    def after_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """No after stages."""
        return []

    def on_failure_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """No on-failure stages."""
        return []

    def can_manually_skip(self, stage: Stage) -> bool:
        """Not skippable by hand."""
        return False

    def prepare_for_restart(self, stage: Stage) -> None:
        """Nothing type-specific to reset."""

    async def cancel(
        self, execution: Execution, stage: Stage, services: EngineServices
    ) -> Mapping[str, Any] | None:
        """Nothing to cancel."""
        return None

    @property
    def cancellable(self) -> bool:
        """Not cancellable unless a subclass overrides cancel and this."""
        return False


class StageTypes(Protocol):
    """The stage and task types the engine can run (``engine.registry.Registry``)."""

    def stage(self, type_name: str) -> StageDefinition:
        """The definition of a stage type (UnknownStageType when absent)."""
        ...

    def has_stage(self, type_name: str) -> bool:
        """Whether a stage type is registered."""
        ...

    def task(self, name: str) -> Task:
        """A task type (UnknownTaskType when absent)."""
        ...

    def stage_types(self) -> list[str]:
        """Every registered stage type name, sorted."""
        ...


class EngineServices(Protocol):
    """What handlers, tasks and stages may use; the composition root (``Services``) provides it."""

    @property
    def settings(self) -> Settings: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def db(self) -> Database: ...
    @property
    def queue(self) -> Queue: ...
    @property
    def registry(self) -> StageTypes: ...
    @property
    def executions(self) -> ExecutionRepository: ...
    @property
    def pipelines(self) -> PipelineConfigRepository: ...
    @property
    def templates(self) -> PipelineTemplateRepository: ...
    @property
    def evaluator(self) -> Evaluator: ...
    @property
    def launcher(self) -> PipelineStarter: ...
    @property
    def operations(self) -> ExecutionControl: ...
    @property
    def policies(self) -> PolicyGate: ...
    @property
    def access(self) -> AccessControl: ...
