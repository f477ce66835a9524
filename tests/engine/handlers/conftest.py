"""Handler unit tests, Orca style: store an execution in a given state on a real SQLite database, run
ONE handler inside a HandlerContext on a transaction, then look at the state it wrote and at exactly
what it pushed (``ctx.pushes``) and recorded (``ctx.events``). Nothing is handed to the queue: the
pushes are what the processor would send."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gennaker.clock import FrozenClock
from gennaker.engine import messages as m
from gennaker.engine.handlers import cancel_stage, run_task
from gennaker.engine.runtime import HandlerContext, Push
from gennaker.model.execution import Execution
from gennaker.services import Services
from gennaker.store.schema import execution_locks, waiting_executions
from gennaker.testing import make_services, run_until_idle
from tests.engine.fakes import EngineTestPlugin
from tests.engine.handlers.builders import HandlerTestPlugin, ProbeTask


@dataclass
class RunTaskOutcome:
    """The two transactions of one RunTask: ``prepare`` (always) and ``apply`` (when work ran)."""

    prepare: HandlerContext
    apply: HandlerContext | None
    pending: run_task.Pending | None

    @property
    def pushes(self) -> list[Any]:
        return self.prepare.pushes + (self.apply.pushes if self.apply is not None else [])

    @property
    def events(self) -> list[Any]:
        return self.prepare.events + (self.apply.events if self.apply is not None else [])


class Engine:
    """Services on a fresh SQLite file, and the moves of a handler test."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.clock: FrozenClock = services.clock  # type: ignore[assignment]

    def store(self, execution: Execution) -> Execution:
        with self.services.db.transaction() as conn:
            self.services.executions.insert(conn, execution)
        return execution

    def change(self, execution_id: str, mutate: Callable[[Execution], object]) -> Execution:
        """Change a stored execution (what another handler would have done meanwhile)."""
        with self.services.db.transaction() as conn:
            execution = self.services.executions.load(conn, execution_id, for_update=True)
            mutate(execution)
            self.services.executions.save(conn, execution)
        return execution

    def load(self, execution_id: str) -> Execution:
        with self.services.db.read() as conn:
            return self.services.executions.load(conn, execution_id)

    def handle(self, handler: Callable[[HandlerContext, Any], None], message: m.Message) -> HandlerContext:
        """Run one handler on one message in one transaction, as the processor does."""
        with self.services.db.transaction() as conn:
            ctx = HandlerContext(conn, self.services, self.clock.now_ms())
            handler(ctx, message)
            ctx.write_changes()
        return ctx

    def run_task(self, message: m.RunTask, *, between: Callable[[], None] | None = None) -> RunTaskOutcome:
        """RunTask as the processor drives it: prepare, the task's work outside any transaction,
        apply. ``between`` runs after the work and before apply (another handler moving things)."""
        with self.services.db.transaction() as conn:
            first = HandlerContext(conn, self.services, self.clock.now_ms())
            pending = run_task.prepare(first, message)
            first.write_changes()
        if pending is None:
            return RunTaskOutcome(first, None, None)
        outcome = asyncio.run(run_task.perform(pending))
        if between is not None:
            between()
        with self.services.db.transaction() as conn:
            second = HandlerContext(conn, self.services, self.clock.now_ms())
            run_task.apply(second, message, pending, outcome)
            second.write_changes()
        return RunTaskOutcome(first, second, pending)

    def cancel_stage(self, message: m.CancelStage) -> tuple[HandlerContext, HandlerContext | None, Any]:
        """CancelStage as the processor drives it: prepare, the cancel hook, apply."""
        with self.services.db.transaction() as conn:
            first = HandlerContext(conn, self.services, self.clock.now_ms())
            pending = cancel_stage.prepare(first, message)
            first.write_changes()
        if pending is None:
            return first, None, None
        result = asyncio.run(cancel_stage.perform(pending, self.services))
        with self.services.db.transaction() as conn:
            second = HandlerContext(conn, self.services, self.clock.now_ms())
            cancel_stage.apply(second, message, result)
            second.write_changes()
        return first, second, result

    def settle(self, pushes: list[Push]) -> Execution:
        """Queue what a handler sent and let the real processor run everything that follows (the
        FrozenClock moves to each delayed message); returns execution ex1 as it ends up."""
        with self.services.db.transaction() as conn:
            for sent in pushes:
                queued = sent.message.queued()
                if sent.mode == "ensure":
                    self.services.queue.ensure(conn, queued, sent.delay_ms)
                elif sent.mode == "reschedule":
                    self.services.queue.reschedule(conn, queued, sent.delay_ms)
                else:
                    self.services.queue.push(conn, queued, sent.delay_ms)
        run_until_idle(self.services)
        return self.load("ex1")

    def task_type(self, name: str) -> ProbeTask:
        found = self.services.registry.task(name)
        assert isinstance(found, ProbeTask)
        return found

    # -- waiting rows and locks ---------------------------------------------------------------------

    def park(self, execution: Execution, key: str, queued_at: int) -> None:
        with self.services.db.transaction() as conn:
            conn.execute(
                waiting_executions.insert().values(
                    execution_id=execution.id, key=key, reason="test", queued_at=queued_at
                )
            )

    def waiting(self) -> dict[str, str]:
        """execution id -> the key it waits under."""
        with self.services.db.read() as conn:
            rows = conn.execute(sa.select(waiting_executions.c.execution_id, waiting_executions.c.key)).all()
        return {r.execution_id: r.key for r in rows}

    def hold_lock(self, name: str, execution_id: str) -> None:
        with self.services.db.transaction() as conn:
            conn.execute(execution_locks.insert().values(name=name, execution_id=execution_id, acquired_at=0))

    def locks(self) -> dict[str, str]:
        """lock name -> holder."""
        with self.services.db.read() as conn:
            rows = conn.execute(sa.select(execution_locks.c.name, execution_locks.c.execution_id)).all()
        return {r.name: r.execution_id for r in rows}


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test process; each test gets a copy (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("handlers-template") / "gennaker.db"
    services = make_services(f"sqlite:///{path}")
    services.close()
    return path


@pytest.fixture
def engine(_migrated_sqlite: Path, tmp_path: Path) -> Iterator[Engine]:
    target = tmp_path / "gennaker.db"
    shutil.copyfile(_migrated_sqlite, target)
    services = make_services(f"sqlite:///{target}", plugins=(EngineTestPlugin(), HandlerTestPlugin()))
    try:
        yield Engine(services)
    finally:
        services.close()
