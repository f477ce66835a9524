"""Concise builders for handler unit tests: executions in a given state, the messages that address
them, the pushes a handler is expected to make, and stage/task types whose behaviour the stage
context scripts (so a test says in one line what a task will do when it runs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.clock import FrozenClock
from gennaker.engine import messages as m
from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec, TransientTaskError
from gennaker.engine.registry import Registry
from gennaker.engine.runtime import Push
from gennaker.hookspecs import hookimpl
from gennaker.model.execution import PIPELINE, STAGE_BEFORE, Execution, Stage, Task
from gennaker.model.status import ExecutionStatus as S

APP = "app"
CONFIG_ID = "cfg-1"
#: The FrozenClock's default start: "now" in every handler test unless a test moves the clock.
NOW = FrozenClock().now_ms()


# -- records -------------------------------------------------------------------------------------


def task(
    id: str = "1",
    status: S = S.NOT_STARTED,
    implementing_class: str = "probe",
    *,
    start_time: int | None = None,
    end_time: int | None = None,
    loop_start: bool = False,
    loop_end: bool = False,
) -> Task:
    """A task record; a RUNNING task started a second ago unless told otherwise."""
    if start_time is None and status != S.NOT_STARTED:
        start_time = NOW - 1_000
    return Task(
        id=id,
        name=f"task{id}",
        implementing_class=implementing_class,
        status=status,
        start_time=start_time,
        end_time=end_time,
        loop_start=loop_start,
        loop_end=loop_end,
    )


def stage(
    ref: str,
    type: str = "scripted",
    status: S = S.NOT_STARTED,
    *,
    upstream: tuple[str, ...] = (),
    tasks: tuple[Task, ...] | list[Task] = (),
    parent: Stage | None = None,
    owner: str | None = None,
    is_finally: bool = False,
    start_time: int | None = None,
    end_time: int | None = None,
    outputs: Mapping[str, Any] | None = None,
    **context: Any,
) -> Stage:
    """A stage with id ``s<ref>``; extra keyword arguments become its context."""
    if start_time is None and status != S.NOT_STARTED:
        start_time = NOW - 2_000
    if end_time is None and status.is_complete:
        end_time = NOW - 500
    return Stage(
        id=f"s{ref}",
        ref_id=ref,
        type=type,
        name=f"stage {ref}",
        status=status,
        context=dict(context),
        outputs=dict(outputs or {}),
        tasks=list(tasks),
        requisite_stage_ref_ids=list(upstream),
        parent_stage_id=parent.id if parent is not None else None,
        synthetic_stage_owner=(owner or STAGE_BEFORE) if parent is not None else None,
        start_time=start_time,
        end_time=end_time,
        is_finally=is_finally,
    )


def pipeline(*stages: Stage, id: str = "ex1", status: S = S.RUNNING, **attributes: Any) -> Execution:
    """A PIPELINE execution of config ``cfg-1``; RUNNING (started a minute ago) unless told.

    Stage ids are unique in a database: the stages of any execution but ``ex1`` get ``<id>.s<ref>``."""
    if id != "ex1":
        for s in stages:
            s.id = f"{id}.{s.id}"
            if s.parent_stage_id is not None:
                s.parent_stage_id = f"{id}.{s.parent_stage_id}"
    attributes.setdefault("start_time", NOW - 60_000 if status != S.NOT_STARTED else None)
    if status.is_complete:
        attributes.setdefault("end_time", NOW - 100)
    attributes.setdefault("type", PIPELINE)
    attributes.setdefault("pipeline_config_id", CONFIG_ID)
    return Execution(
        id=id,
        application=APP,
        name="pipe",
        status=status,
        build_time=NOW - 120_000,
        trigger={"type": "manual", "user": "alice", "parameters": {}, "artifacts": []},
        authentication={"user": "alice", "allowedAccounts": []},
        stages=list(stages),
        **attributes,
    )


# -- messages and pushes --------------------------------------------------------------------------


def msg(
    cls: type[m.Message],
    execution: Execution,
    stage: Stage | str | None = None,
    task_id: str | None = None,
    **fields: Any,
) -> Any:
    """A message of type ``cls`` addressed to the execution, a stage (object or id) and a task."""
    address: list[Any] = [execution.type, execution.id, execution.application]
    if stage is not None:
        address.append(stage if isinstance(stage, str) else stage.id)
    if task_id is not None:
        address.append(task_id)
    return cls(*address, **fields)


def push(
    cls: type[m.Message],
    execution: Execution,
    stage: Stage | str | None = None,
    task_id: str | None = None,
    *,
    delay: int = 0,
    mode: str = "push",
    **fields: Any,
) -> Push:
    """The Push a handler makes when it sends that message."""
    return Push(msg(cls, execution, stage, task_id, **fields), delay, mode)


# -- stage and task types -------------------------------------------------------------------------


class ProbeTask(BaseTask):
    """Does what the stage context says, and remembers each call.

    ``result`` (status, default SUCCEEDED), ``raise`` (message of a RuntimeError), ``transient``
    (raise TransientTaskError), ``backoffMs`` (for a RUNNING result), ``resultContext``, ``resultOutputs``,
    ``timeoutResult`` (status on_timeout returns), ``cancelRaises`` (on_cancel raises)."""

    def __init__(
        self,
        *,
        backoff_ms: int = 1_000,
        timeout_ms: int | None = None,
        overridable_timeout: bool = False,
        pure: bool = False,
    ) -> None:
        self.backoff_ms = backoff_ms
        self.timeout_ms = timeout_ms
        self.overridable_timeout = overridable_timeout
        self.pure = pure
        self.calls: list[str] = []
        self.seen: list[dict[str, Any]] = []

    async def execute(self, run: TaskRun) -> TaskResult:
        self.calls.append("execute")
        self.seen.append(dict(run.context))
        if run.context.get("raise"):
            raise RuntimeError(str(run.context["raise"]))
        if run.context.get("transient"):
            raise TransientTaskError("connection reset")
        status = S(run.context.get("result", "SUCCEEDED"))
        backoff = run.context.get("backoffMs")
        return TaskResult(
            status,
            dict(run.context.get("resultContext", {})),
            dict(run.context.get("resultOutputs", {})),
            backoff_ms=None if backoff is None else int(backoff),
        )

    async def on_timeout(self, run: TaskRun) -> TaskResult | None:
        self.calls.append("on_timeout")
        status = run.context.get("timeoutResult")
        return None if status is None else TaskResult(S(status), {"timeoutHandled": True})

    async def on_cancel(self, run: TaskRun) -> TaskResult | None:
        self.calls.append("on_cancel")
        if run.context.get("cancelRaises"):
            raise RuntimeError("cancel hook broke")
        return TaskResult(S.CANCELED, {"onCancelCalled": True})


class NoTasksStage(BaseStage):
    """Neither tasks nor synthetic stages."""

    type = "noTasks"


class BadPlanStage(BaseStage):
    """Plans a task type nobody registered."""

    type = "badPlan"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        return [TaskSpec("missing", "noSuchTask")]


class TwoTaskStage(BaseStage):
    """Two probe tasks in a row."""

    type = "twoTasks"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        return [TaskSpec("first", "probe"), TaskSpec("second", "probe")]


class RestartAwareStage(BaseStage):
    """Resets a judgment-like key before a restart."""

    type = "restartAware"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        return [TaskSpec("probe", "probe")]

    def prepare_for_restart(self, stage: Stage) -> None:
        stage.context.pop("judgment", None)
        stage.context["preparedForRestart"] = True


class BrokenCancelStage(BaseStage):
    """Cancellable, but its cancel hook fails."""

    type = "brokenCancel"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        return [TaskSpec("probe", "probe")]

    @property
    def cancellable(self) -> bool:
        return True

    async def cancel(self, execution: Execution, stage: Stage, services: Any) -> Mapping[str, Any] | None:
        raise RuntimeError("cloud said no")


class HandlerTestPlugin:
    """Registers the probe tasks (plain, timed, monitor, slow-polling, pure) and the stage types above."""

    @hookimpl
    def register_stages(self, registry: Registry, settings: Any) -> None:
        registry.add_task("probe", ProbeTask())
        registry.add_task("timed", ProbeTask(timeout_ms=10_000))
        registry.add_task("monitor", ProbeTask(timeout_ms=60_000, overridable_timeout=True))
        registry.add_task("slowPoll", ProbeTask(backoff_ms=5_000))
        registry.add_task("pureProbe", ProbeTask(pure=True))
        for definition in (
            NoTasksStage(),
            BadPlanStage(),
            TwoTaskStage(),
            RestartAwareStage(),
            BrokenCancelStage(),
        ):
            registry.add_stage(definition)
