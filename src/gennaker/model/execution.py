"""Execution, stage and task records, serialised exactly as Spinnaker's execution JSON (§2.1).

These objects live for one message or one request: they are loaded from the store, changed by one
handler, and written back in the same transaction. Keys Gennaker does not model are kept in
``extra`` and written back unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gennaker.model.stage_index import StageIndex, StageList
from gennaker.model.status import ExecutionStatus

PIPELINE = "PIPELINE"
ORCHESTRATION = "ORCHESTRATION"
STAGE_BEFORE = "STAGE_BEFORE"
STAGE_AFTER = "STAGE_AFTER"

Json = dict[str, Any]


@dataclass
class Task:
    """One step of a stage; tasks of a stage run one after another."""

    id: str
    name: str
    implementing_class: str
    status: ExecutionStatus = ExecutionStatus.NOT_STARTED
    start_time: int | None = None
    end_time: int | None = None
    stage_start: bool = False
    stage_end: bool = False
    loop_start: bool = False
    loop_end: bool = False
    task_exception_details: Json = field(default_factory=dict)
    extra: Json = field(default_factory=dict)

    def to_json(self) -> Json:
        """Spinnaker's task JSON."""
        out: Json = dict(self.extra)
        out.update(
            id=self.id,
            name=self.name,
            implementingClass=self.implementing_class,
            status=self.status.value,
            stageStart=self.stage_start,
            stageEnd=self.stage_end,
            loopStart=self.loop_start,
            loopEnd=self.loop_end,
            taskExceptionDetails=self.task_exception_details,
        )
        if self.start_time is not None:
            out["startTime"] = self.start_time
        if self.end_time is not None:
            out["endTime"] = self.end_time
        return out

    @classmethod
    def from_json(cls, data: Json) -> Task:
        """Read Spinnaker's task JSON."""
        known = _TASK_KEYS
        return cls(
            id=str(data["id"]),
            name=str(data.get("name", "")),
            implementing_class=str(data.get("implementingClass", "")),
            status=ExecutionStatus(data.get("status", "NOT_STARTED")),
            start_time=data.get("startTime"),
            end_time=data.get("endTime"),
            stage_start=bool(data.get("stageStart", False)),
            stage_end=bool(data.get("stageEnd", False)),
            loop_start=bool(data.get("loopStart", False)),
            loop_end=bool(data.get("loopEnd", False)),
            task_exception_details=dict(data.get("taskExceptionDetails") or {}),
            extra={k: v for k, v in data.items() if k not in known},
        )


_TASK_KEYS = frozenset(
    "id name implementingClass status startTime endTime stageStart stageEnd loopStart loopEnd "
    "taskExceptionDetails".split()
)


@dataclass
class Stage:
    """A node of the execution graph (top-level, or synthetic with a parent)."""

    id: str
    ref_id: str | None
    type: str
    name: str
    status: ExecutionStatus = ExecutionStatus.NOT_STARTED
    context: Json = field(default_factory=dict)
    outputs: Json = field(default_factory=dict)
    tasks: list[Task] = field(default_factory=list)
    requisite_stage_ref_ids: list[str] = field(default_factory=list)
    parent_stage_id: str | None = None
    synthetic_stage_owner: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    start_time_expiry: int | None = None
    scheduled_time: int | None = None
    last_modified: Json | None = None
    #: Gennaker addition: True for stages of the pipeline's ``finally`` block.
    is_finally: bool = False
    extra: Json = field(default_factory=dict)
    #: Told of every status change (old, new): the graph index keeps its join counts with it.
    status_listener: Callable[[Any, ExecutionStatus, ExecutionStatus], None] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def is_synthetic(self) -> bool:
        """True for before/after/on-failure stages planned by a parent."""
        return self.parent_stage_id is not None

    def task(self, task_id: str) -> Task | None:
        """The task with this id, if any."""
        for task in self.tasks:
            if task.id == task_id:
                return task
        return None

    def to_json(self) -> Json:
        """Spinnaker's stage JSON (null fields omitted)."""
        out: Json = dict(self.extra)
        out.update(
            id=self.id,
            type=self.type,
            name=self.name,
            status=self.status.value,
            context=self.context,
            outputs=self.outputs,
            tasks=[t.to_json() for t in self.tasks],
            requisiteStageRefIds=self.requisite_stage_ref_ids,
        )
        for key, value in (
            ("refId", self.ref_id),
            ("parentStageId", self.parent_stage_id),
            ("syntheticStageOwner", self.synthetic_stage_owner),
            ("startTime", self.start_time),
            ("endTime", self.end_time),
            ("startTimeExpiry", self.start_time_expiry),
            ("scheduledTime", self.scheduled_time),
            ("lastModified", self.last_modified),
        ):
            if value is not None:
                out[key] = value
        if self.is_finally:
            out["finally"] = True
        return out

    @classmethod
    def from_json(cls, data: Json) -> Stage:
        """Read Spinnaker's stage JSON."""
        return cls(
            id=str(data["id"]),
            ref_id=None if data.get("refId") is None else str(data["refId"]),
            type=str(data.get("type", "")),
            name=str(data.get("name") or data.get("type", "")),
            status=ExecutionStatus(data.get("status", "NOT_STARTED")),
            context=dict(data.get("context") or {}),
            outputs=dict(data.get("outputs") or {}),
            tasks=[Task.from_json(t) for t in data.get("tasks") or []],
            requisite_stage_ref_ids=[str(r) for r in data.get("requisiteStageRefIds") or []],
            parent_stage_id=data.get("parentStageId"),
            synthetic_stage_owner=data.get("syntheticStageOwner"),
            start_time=data.get("startTime"),
            end_time=data.get("endTime"),
            start_time_expiry=data.get("startTimeExpiry"),
            scheduled_time=data.get("scheduledTime"),
            last_modified=data.get("lastModified"),
            is_finally=bool(data.get("finally", False)),
            extra={k: v for k, v in data.items() if k not in _STAGE_KEYS},
        )


def _get_status(stage: Stage) -> ExecutionStatus:
    status: ExecutionStatus = stage.__dict__["_status"]
    return status


def _set_status(stage: Stage, value: ExecutionStatus) -> None:
    state = stage.__dict__
    old = state.get("_status")
    state["_status"] = value
    listener = state.get("status_listener")
    if listener is not None and old is not None and old != value:
        listener(stage, old, value)


# A property behind the dataclass field (only ``status`` pays for it): the graph index hears of
# every status change and keeps its counts of unfinished upstream stages without rescanning.
Stage.status = property(_get_status, _set_status)  # type: ignore[assignment]

_STAGE_KEYS = frozenset(
    "id refId type name status context outputs tasks requisiteStageRefIds parentStageId "
    "syntheticStageOwner startTime endTime startTimeExpiry scheduledTime lastModified finally".split()
)

# Execution-level keys stored as attributes; everything else lives in `extra` (and is kept).
_EXECUTION_ATTRS = {
    "id": "id",
    "type": "type",
    "application": "application",
    "name": "name",
    "pipelineConfigId": "pipeline_config_id",
    "status": "status",
    "buildTime": "build_time",
    "startTime": "start_time",
    "endTime": "end_time",
    "startTimeExpiry": "start_time_expiry",
    "canceled": "canceled",
    "canceledBy": "canceled_by",
    "cancellationReason": "cancellation_reason",
    "limitConcurrent": "limit_concurrent",
    "maxConcurrentExecutions": "max_concurrent_executions",
    "keepWaitingPipelines": "keep_waiting_pipelines",
    "origin": "origin",
    "authentication": "authentication",
    "paused": "paused",
    "trigger": "trigger",
    "notifications": "notifications",
    "initialConfig": "initial_config",
    "systemNotifications": "system_notifications",
    "spelEvaluator": "spel_evaluator",
    "templateVariables": "template_variables",
    "partition": "partition",
    "description": "description",
    "locks": "locks",
    "gennaker": "state",
}


@dataclass
class Execution:
    """A run of a pipeline (PIPELINE) or an ad-hoc orchestration (ORCHESTRATION)."""

    id: str
    type: str
    application: str
    name: str | None = None
    pipeline_config_id: str | None = None
    status: ExecutionStatus = ExecutionStatus.NOT_STARTED
    build_time: int = 0
    start_time: int | None = None
    end_time: int | None = None
    start_time_expiry: int | None = None
    canceled: bool = False
    canceled_by: str | None = None
    cancellation_reason: str | None = None
    limit_concurrent: bool = False
    max_concurrent_executions: int = 0
    keep_waiting_pipelines: bool = False
    origin: str | None = None
    authentication: Json | None = None
    paused: Json | None = None
    trigger: Json = field(default_factory=dict)
    notifications: list[Any] = field(default_factory=list)
    initial_config: Json = field(default_factory=dict)
    system_notifications: list[Any] = field(default_factory=list)
    spel_evaluator: str | None = None
    template_variables: Json | None = None
    partition: str | None = None
    description: str | None = None
    #: Gennaker addition: named locks held for the whole run, ``[{name, mode}]`` (names evaluated).
    locks: list[Json] = field(default_factory=list)
    #: Gennaker's execution-level state, JSON key ``gennaker``: ``outcome`` of the main graph once
    #: finally stages run, ``waiting`` (why a NOT_STARTED execution waits), ``pendingRestart``.
    state: Json = field(default_factory=dict)
    stages: list[Stage] = field(default_factory=StageList)
    extra: Json = field(default_factory=dict)
    #: What the store last read or wrote, so a save writes only what changed (not part of the JSON).
    stored: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    stored_version: int = field(default=0, repr=False, compare=False)
    #: The highest revision among the stored stage rows (see store/executions.py).
    stored_revision: int = field(default=0, repr=False, compare=False)
    stored_positions: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    #: The stage list's version the store last wrote or read (no stage added, removed or moved since).
    stored_structure: tuple[object, int] | None = field(default=None, repr=False, compare=False)
    stage_index: StageIndex[Stage] | None = field(default=None, repr=False, compare=False)

    # -- lookups ---------------------------------------------------------------------------------

    def index(self) -> StageIndex[Stage]:
        """The stage graph indexed (rebuilt only after stages were added, removed or moved)."""
        found = self.stage_index
        if found is not None and found.is_current(self.stages):
            return found
        stages, _ = self.structure()
        assert isinstance(stages, StageList)
        found = self.stage_index = StageIndex(stages)
        return found

    def structure(self) -> tuple[object, int]:
        """A token that changes whenever stages are added, removed or moved (compare with ``is`` on
        its first item: it is the stage list itself)."""
        stages = self.stages
        if not isinstance(stages, StageList):
            stages = self.stages = StageList(stages)
        return (stages, stages.version)

    def structure_changed_since(self, token: tuple[object, int] | None) -> bool:
        """Whether stages were added, removed or moved since ``structure()`` returned ``token``."""
        if token is None:
            return True
        stages, version = self.structure()
        return token[0] is not stages or token[1] != version

    def stage(self, stage_id: str) -> Stage | None:
        """The stage with this id, if any."""
        return self.index().by_id.get(stage_id)

    def stage_by_ref_id(self, ref_id: str) -> Stage | None:
        """The top-level (or synthetic) stage with this refId, if any."""
        for stage in self.stages:
            if stage.ref_id == ref_id:
                return stage
        return None

    def children(self, parent: Stage, owner: str | None = None) -> Iterator[Stage]:
        """The synthetic stages whose parent is ``parent`` (optionally of one owner)."""
        for stage in self.index().children.get(parent.id, ()):
            if owner is None or stage.synthetic_stage_owner == owner:
                yield stage

    def top_level(self, *, finally_block: bool | None = None) -> Iterator[Stage]:
        """Stages without a parent; ``finally_block`` filters main-graph or finally stages."""
        for stage in self.stages:
            if stage.parent_stage_id is None and (finally_block is None or stage.is_finally == finally_block):
                yield stage

    @property
    def paused_ms(self) -> int:
        """Total time spent paused so far (a pause in progress counts up to its resume)."""
        paused = self.paused or {}
        return int(paused.get("pausedMs", 0))

    # -- JSON ------------------------------------------------------------------------------------

    def header_json(self) -> Json:
        """The execution JSON without its stages (what the executions table stores)."""
        out: Json = dict(self.extra)
        for key, attr in _EXECUTION_ATTRS.items():
            value = getattr(self, attr)
            if value is None:
                continue
            out[key] = value.value if isinstance(value, ExecutionStatus) else value
        if not self.locks:
            out.pop("locks", None)
        if not self.state:
            out.pop("gennaker", None)
        return out

    def to_json(self) -> Json:
        """Spinnaker's execution JSON."""
        out = self.header_json()
        out["stages"] = [s.to_json() for s in self.stages]
        return out

    @classmethod
    def from_json(cls, data: Json) -> Execution:
        """Read Spinnaker's execution JSON."""
        kwargs: dict[str, Any] = {}
        extra: Json = {}
        for key, value in data.items():
            attr = _EXECUTION_ATTRS.get(key)
            if attr is not None:
                kwargs[attr] = value
            elif key != "stages":
                extra[key] = value
        kwargs["status"] = ExecutionStatus(kwargs.get("status", "NOT_STARTED"))
        for attr, default in (
            ("trigger", {}),
            ("notifications", []),
            ("initial_config", {}),
            ("system_notifications", []),
            ("locks", []),
            ("state", {}),
        ):
            if kwargs.get(attr) is None:
                kwargs[attr] = default
        for attr in ("canceled", "limit_concurrent", "keep_waiting_pipelines"):
            kwargs[attr] = bool(kwargs.get(attr, False))
        kwargs["max_concurrent_executions"] = int(kwargs.get("max_concurrent_executions") or 0)
        kwargs["build_time"] = int(kwargs.get("build_time") or 0)
        return cls(
            **kwargs,
            stages=StageList(Stage.from_json(s) for s in data.get("stages") or []),
            extra=extra,
        )
