"""The engine's messages: one frozen dataclass per state transition, each an *address*.

Execution level (executionType, executionId, application) → stage level (+ stageId) → task level
(+ taskId), as in Orca's q/messages.kt. ``kind`` tags are stable: a stored message must still load
after a field is added (new fields get defaults).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar

from gennaker.model.status import ExecutionStatus
from gennaker.queue.base import QueuedMessage
from gennaker.store import json as jsonlib


class UnknownMessage(ValueError):
    """A stored message has a kind or shape this code does not know."""


@dataclass(frozen=True)
class Message:
    """Base of every message; execution-level address."""

    kind: ClassVar[str] = ""
    execution_type: str
    execution_id: str
    application: str

    def to_json(self) -> dict[str, Any]:
        """The message as JSON with its kind tag (camelCase keys, like Orca's)."""
        out: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[_camel(f.name)] = value.value if isinstance(value, ExecutionStatus) else value
        return out

    def queued(self) -> QueuedMessage:
        """The queue's view: body plus a fingerprint that makes identical messages collapse."""
        body = jsonlib.dumps(self.to_json())
        fingerprint = hashlib.blake2b(body.encode(), digest_size=16).hexdigest()
        return QueuedMessage(
            kind=self.kind, body=body, fingerprint=fingerprint, execution_id=self.execution_id
        )


@dataclass(frozen=True)
class StageMessage(Message):
    """Stage-level address."""

    stage_id: str


@dataclass(frozen=True)
class TaskMessage(StageMessage):
    """Task-level address."""

    task_id: str


# -- execution level -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StartExecution(Message):
    kind: ClassVar[str] = "startExecution"


@dataclass(frozen=True)
class CompleteExecution(Message):
    kind: ClassVar[str] = "completeExecution"


@dataclass(frozen=True)
class CancelExecution(Message):
    kind: ClassVar[str] = "cancelExecution"
    user: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ResumeExecution(Message):
    kind: ClassVar[str] = "resumeExecution"


@dataclass(frozen=True)
class RescheduleExecution(Message):
    kind: ClassVar[str] = "rescheduleExecution"


@dataclass(frozen=True)
class StartWaitingExecutions(Message):
    """Start what waits on ``key`` (a pipeline config id, or ``lock:<name>``).

    The execution address is the one that freed the slot; it is used only for logging."""

    kind: ClassVar[str] = "startWaitingExecutions"
    key: str = ""
    purge_queue: bool = False


# -- stage level ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartStage(StageMessage):
    kind: ClassVar[str] = "startStage"


@dataclass(frozen=True)
class CompleteStage(StageMessage):
    kind: ClassVar[str] = "completeStage"


@dataclass(frozen=True)
class ContinueParentStage(StageMessage):
    kind: ClassVar[str] = "continueParentStage"
    phase: str = "STAGE_BEFORE"


@dataclass(frozen=True)
class SkipStage(StageMessage):
    kind: ClassVar[str] = "skipStage"


@dataclass(frozen=True)
class AbortStage(StageMessage):
    kind: ClassVar[str] = "abortStage"


@dataclass(frozen=True)
class CancelStage(StageMessage):
    kind: ClassVar[str] = "cancelStage"


@dataclass(frozen=True)
class PauseStage(StageMessage):
    kind: ClassVar[str] = "pauseStage"


@dataclass(frozen=True)
class ResumeStage(StageMessage):
    kind: ClassVar[str] = "resumeStage"


@dataclass(frozen=True)
class RestartStage(StageMessage):
    kind: ClassVar[str] = "restartStage"
    user: str | None = None


# -- task level ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartTask(TaskMessage):
    kind: ClassVar[str] = "startTask"


@dataclass(frozen=True)
class RunTask(TaskMessage):
    kind: ClassVar[str] = "runTask"


@dataclass(frozen=True)
class CompleteTask(TaskMessage):
    kind: ClassVar[str] = "completeTask"
    status: ExecutionStatus = ExecutionStatus.SUCCEEDED
    original_status: ExecutionStatus | None = None


@dataclass(frozen=True)
class PauseTask(TaskMessage):
    kind: ClassVar[str] = "pauseTask"


@dataclass(frozen=True)
class ResumeTask(TaskMessage):
    kind: ClassVar[str] = "resumeTask"


MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.kind: cls
    for cls in (
        StartExecution,
        CompleteExecution,
        CancelExecution,
        ResumeExecution,
        RescheduleExecution,
        StartWaitingExecutions,
        StartStage,
        CompleteStage,
        ContinueParentStage,
        SkipStage,
        AbortStage,
        CancelStage,
        PauseStage,
        ResumeStage,
        RestartStage,
        StartTask,
        RunTask,
        CompleteTask,
        PauseTask,
        ResumeTask,
    )
}

_STATUS_FIELDS = {"status", "original_status"}


def decode(body: str) -> Message:
    """Rebuild a message from its stored JSON; unknown keys are ignored (forward compatibility).

    Raises UnknownMessage for anything that is not such a message (the processor drops those)."""
    try:
        data = jsonlib.loads(body)
    except ValueError as exc:
        raise UnknownMessage(f"message body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UnknownMessage(f"message body is a JSON {type(data).__name__}, not an object")
    cls = MESSAGE_TYPES.get(data.get("kind", ""))
    if cls is None:
        raise UnknownMessage(f"unknown message kind {data.get('kind')!r}")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        key = _camel(f.name)
        if key in data:
            value = data[key]
            if f.name in _STATUS_FIELDS and value is not None:
                try:
                    value = ExecutionStatus(value)
                except ValueError:
                    raise UnknownMessage(f"malformed {cls.kind} message: unknown status {value!r}") from None
            kwargs[f.name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise UnknownMessage(f"malformed {cls.kind} message: {exc}") from None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
