"""The context one message handler runs in: one open transaction, the services, and what it sends.

Handlers read and change an execution, then ``push`` the next messages. The processor commits the
transaction (state, pushes, events and the acknowledgement together) or rolls all of it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from gennaker.engine.messages import Message
from gennaker.model.execution import Execution, Stage
from gennaker.model.status import ExecutionStatus
from gennaker.store.executions import ExecutionNotFound

if TYPE_CHECKING:
    from gennaker.engine.contracts import EngineServices


@dataclass(frozen=True)
class Push:
    """A message sent by a handler."""

    message: Message
    delay_ms: int = 0
    mode: str = "push"  # push | ensure | reschedule


@dataclass(frozen=True)
class Event:
    """A transition worth recording (the audit trail, notifications, live updates)."""

    type: str
    application: str | None
    execution_id: str | None
    body: dict[str, Any]


@dataclass
class HandlerContext:
    """One transaction's worth of engine work."""

    conn: Connection
    services: EngineServices
    now_ms: int
    pushes: list[Push] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    _loaded: dict[str, Execution] = field(default_factory=dict)
    _dirty: dict[str, Execution] = field(default_factory=dict)

    # -- executions ------------------------------------------------------------------------------

    def load(self, execution_id: str) -> Execution:
        """The execution, row-locked for this transaction (cached within it)."""
        found = self._loaded.get(execution_id)
        if found is None:
            found = self.services.executions.load(self.conn, execution_id, for_update=True)
            self._loaded[execution_id] = found
        return found

    def find(self, execution_id: str) -> Execution | None:
        """Like load, but None if the execution no longer exists."""
        try:
            return self.load(execution_id)
        except ExecutionNotFound:
            return None

    def save(self, execution: Execution) -> None:
        """Mark the execution changed; it is written once, when the transaction's work is done
        (a chain of inline handlers on one execution then costs one write, not one per handler)."""
        self._loaded[execution.id] = execution
        self._dirty[execution.id] = execution

    def write_changes(self) -> None:
        """Write every execution marked changed (only the rows whose JSON differs)."""
        for execution in self._dirty.values():
            self.services.executions.save(self.conn, execution)
        self._dirty.clear()

    def forget(self, execution_id: str) -> None:
        """Drop a cached execution (after deleting it)."""
        self._loaded.pop(execution_id, None)
        self._dirty.pop(execution_id, None)

    # -- messages --------------------------------------------------------------------------------

    def push(self, message: Message, delay_ms: int = 0) -> None:
        """Send a message, delivered after ``delay_ms``."""
        self.pushes.append(Push(message, max(0, int(delay_ms))))

    def ensure(self, message: Message, delay_ms: int = 0) -> None:
        """Send unless an identical message is queued or in flight."""
        self.pushes.append(Push(message, max(0, int(delay_ms)), "ensure"))

    def reschedule(self, message: Message, delay_ms: int = 0) -> None:
        """Move an identical queued message to now + delay."""
        self.pushes.append(Push(message, max(0, int(delay_ms)), "reschedule"))

    # -- events ----------------------------------------------------------------------------------

    def execution_event(self, execution: Execution, type_: str, **extra: Any) -> None:
        """Record an execution-level transition."""
        body: dict[str, Any] = {
            "executionId": execution.id,
            "executionType": execution.type,
            "application": execution.application,
            "pipelineConfigId": execution.pipeline_config_id,
            "name": execution.name,
            "status": execution.status.value,
        }
        body.update(extra)
        self.events.append(Event(type_, execution.application, execution.id, body))

    def stage_event(self, execution: Execution, stage: Stage, type_: str, **extra: Any) -> None:
        """Record a stage-level transition."""
        body: dict[str, Any] = {
            "executionId": execution.id,
            "executionType": execution.type,
            "application": execution.application,
            "pipelineConfigId": execution.pipeline_config_id,
            "stageId": stage.id,
            "refId": stage.ref_id,
            "stageType": stage.type,
            "stageName": stage.name,
            "status": stage.status.value,
            "synthetic": stage.parent_stage_id is not None,
        }
        body.update(extra)
        self.events.append(Event(type_, execution.application, execution.id, body))


def stage_event_type(status: ExecutionStatus) -> str:
    """The event for a stage that just reached ``status``."""
    if status in (ExecutionStatus.SUCCEEDED, ExecutionStatus.SKIPPED, ExecutionStatus.FAILED_CONTINUE):
        return "stage.complete"
    return "stage.failed"


def execution_event_type(status: ExecutionStatus) -> str:
    """The event for an execution that just reached ``status``."""
    return "pipeline.complete" if status == ExecutionStatus.SUCCEEDED else "pipeline.failed"
