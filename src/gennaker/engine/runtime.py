"""The context one message handler runs in: one open transaction, the services, and what it sends.

Handlers read and change an execution, then ``push`` the next messages. The processor commits the
transaction (state, pushes, events and the acknowledgement together) or rolls all of it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from gennaker.engine.execution_cache import ExecutionCache
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
    #: Executions kept between transactions by this worker (None: read every one from the store).
    cache: ExecutionCache | None = None
    _loaded: dict[str, Execution] = field(default_factory=dict)
    _dirty: dict[str, Execution] = field(default_factory=dict)
    #: Per dirty execution, the stages marked changed (None: compare every stage when writing).
    _changed: dict[str, dict[str, Stage] | None] = field(default_factory=dict)

    # -- executions ------------------------------------------------------------------------------

    def load(self, execution_id: str) -> Execution:
        """The execution, row-locked for this transaction (cached within it, and between
        transactions in the worker's cache while its stored version does not move)."""
        found = self._loaded.get(execution_id)
        if found is not None:
            return found
        repository = self.services.executions
        if self.cache is not None:
            revision = repository.revision_of(self.conn, execution_id, for_update=True)
            if revision is None:
                self.cache.drop(execution_id)
                raise ExecutionNotFound(execution_id)
            cached = self.cache.take(execution_id)
            if cached is not None:
                # Written elsewhere since (another worker, the API): read just the changed rows.
                found = repository.refresh(self.conn, cached, revision)
        if found is None:
            found = repository.load(self.conn, execution_id, for_update=True)
        self._loaded[execution_id] = found
        return found

    def find(self, execution_id: str) -> Execution | None:
        """Like load, but None if the execution no longer exists."""
        try:
            return self.load(execution_id)
        except ExecutionNotFound:
            return None

    def save(self, execution: Execution, *changed: Stage) -> None:
        """Mark the execution changed; it is written once, when the transaction's work is done
        (a chain of inline handlers on one execution then costs one write, not one per handler).

        ``changed``: the stages this handler changed (stages added or removed are found anyway);
        only they are serialised and compared. Without them, every stage is compared."""
        self._loaded[execution.id] = execution
        self._dirty[execution.id] = execution
        self._mark(execution.id, changed if changed else None)

    def save_header(self, execution: Execution) -> None:
        """Mark only execution-level fields changed (and stages added or removed)."""
        self._loaded[execution.id] = execution
        self._dirty[execution.id] = execution
        self._mark(execution.id, ())

    def _mark(self, execution_id: str, changed: tuple[Stage, ...] | None) -> None:
        if execution_id in self._changed and self._changed[execution_id] is None:
            return
        if changed is None:
            self._changed[execution_id] = None
            return
        marked = self._changed.setdefault(execution_id, {})
        assert marked is not None
        for stage in changed:
            marked[stage.id] = stage

    def write_changes(self) -> None:
        """Write every execution marked changed (only the rows whose JSON differs)."""
        for execution in self._dirty.values():
            marked = self._changed.get(execution.id)
            changed = None if marked is None else list(marked.values())
            self.services.executions.save(self.conn, execution, changed)
        self._dirty.clear()
        self._changed.clear()

    def forget(self, execution_id: str) -> None:
        """Drop a cached execution (after deleting it)."""
        self._loaded.pop(execution_id, None)
        self._dirty.pop(execution_id, None)
        self._changed.pop(execution_id, None)
        if self.cache is not None:
            self.cache.drop(execution_id)

    def keep(self) -> None:
        """Once everything is written, just before the COMMIT: give the executions this transaction
        read back to the worker's cache, so the next transaction on one of them (which waits for
        this one's lock) finds it there. Should the COMMIT fail, ``discard`` takes them out again;
        one taken meanwhile does not match the stored versions, so it is read again."""
        if self.cache is not None:
            for execution in self._loaded.values():
                self.cache.give_back(execution)

    def discard(self) -> None:
        """The transaction rolled back: none of what it read or changed may stay cached."""
        if self.cache is not None:
            for execution_id in self._loaded:
                self.cache.drop(execution_id)
        self._loaded.clear()

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
