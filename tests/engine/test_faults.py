"""Bad input and faults (issue 3), through the real Processor on SQLite and PostgreSQL: messages for
executions, stages or task types that are gone; a message that keeps failing (retried with backoff,
dead-lettered, then the terminal message of its level); undecodable messages; and a database that
goes away for a few seconds under a real `gennaker worker` process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gennaker.clock import SystemClock
from gennaker.engine import messages as m
from gennaker.engine.handlers import TRANSACTIONAL, run_task
from gennaker.engine.processor import Processor, drain
from gennaker.model.status import ExecutionStatus as S
from gennaker.queue.base import QueuedMessage
from gennaker.services import Services
from gennaker.store.schema import events
from gennaker.testing import make_services, run_until_idle
from tests.conftest import PostgresSchema, require_postgres
from tests.engine.conftest import Harness
from tests.engine.fakes import EngineTestPlugin
from tests.engine.test_graph_semantics import scripted

MAX_ATTEMPTS = 3


def _push(services: Services, *messages: m.Message | QueuedMessage) -> None:
    with services.db.transaction() as conn:
        for message in messages:
            queued = message.queued() if isinstance(message, m.Message) else message
            services.queue.push(conn, queued)


def _queue_is_empty(services: Services) -> bool:
    with services.db.read() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM queue_messages")).scalar_one()
    return int(count) == 0


def _one_message_at_a_time(services: Services) -> int:
    """Drain with inline handling off, so each message comes from the queue and a failing one is
    retried and dead-lettered on its own (inline, it would fail the transaction that sent it)."""
    processor = Processor(services, concurrency=4, inline_budget=0)
    return asyncio.run(drain(processor, clock=services.clock))


# -- gone ------------------------------------------------------------------------------------------


def test_messages_for_an_execution_that_no_longer_exists_are_acknowledged(harness: Harness) -> None:
    doomed = harness.start([scripted("1", polls=3)], id="doomed")
    survivor = harness.start([scripted("1", polls=3)], id="survivor")
    harness.run(advance_clock=False)  # both wait for their next poll
    with harness.services.db.transaction() as conn:  # gone behind the engine's back
        harness.services.executions.delete(conn, doomed.id)
    ghost = ("PIPELINE", "ghost", "app")
    _push(
        harness.services,
        m.StartExecution(*ghost),
        m.CompleteExecution(*ghost),
        m.StartStage(*ghost, "s"),
        m.CompleteTask(*ghost, "s", "1", status=S.TERMINAL),
        m.RunTask(*ghost, "s", "1"),
    )
    harness.run()
    assert harness.get(survivor.id).status == S.SUCCEEDED
    assert _queue_is_empty(harness.services)
    assert list(harness.services.queue.dead_letters()) == []


def test_a_message_naming_an_unknown_stage_ends_the_execution_terminal(harness: Harness) -> None:
    execution = harness.start([scripted("1", polls=3), scripted("2", "1")])
    harness.run(advance_clock=False)
    _push(harness.services, m.StartStage("PIPELINE", execution.id, "app", "no-such-stage"))
    harness.run()
    done = harness.get(execution.id)
    reason = "message startStage names unknown stage no-such-stage"
    assert done.status == S.TERMINAL
    assert done.extra["errors"] == [reason]
    assert done.stage_by_ref_id("1").status == S.TERMINAL
    assert done.stage_by_ref_id("1").context["exception"]["details"]["errors"] == [reason]
    assert done.stage_by_ref_id("2").status == S.NOT_STARTED
    assert _queue_is_empty(harness.services)


def test_a_task_type_no_longer_registered_ends_the_execution_terminal(
    harness: Harness, database_url: str
) -> None:
    """A worker running newer code, in which the scripted task type is gone, picks the pipeline up."""
    execution = harness.start([scripted("1", polls=3)])
    harness.run(advance_clock=False)
    upgraded = make_services(database_url, clock=harness.clock)  # no test plugin: no scriptedTask
    try:
        run_until_idle(upgraded)
    finally:
        upgraded.close()
    done = harness.get(execution.id)
    reason = "unknown task type 'scriptedTask' (stage 1, task scripted)"
    assert done.status == S.TERMINAL
    assert done.extra["errors"] == [reason]
    assert done.stage_by_ref_id("1").status == S.TERMINAL


# -- a message that keeps failing ------------------------------------------------------------------


class Failing:
    """Raises for one execution's messages and records when it was called; others pass through."""

    def __init__(self, target: str, inner: Callable[..., Any], clock: Any) -> None:
        self.target = target
        self.inner = inner
        self.clock = clock
        self.calls: list[int] = []

    def __call__(self, ctx: Any, message: m.Message) -> Any:
        if message.execution_id == self.target:
            self.calls.append(self.clock.now_ms())
            raise RuntimeError("handler bug")
        return self.inner(ctx, message)


def _dead_kinds(services: Services) -> list[str]:
    return [d.message.kind for d in services.queue.dead_letters()]


def _assert_backoff(calls: list[int]) -> None:
    # Deliveries 1, 2, 3 with the processor's backoff (100 ms * 2^attempt) in between; the
    # FrozenClock jumps to each redelivery, so the gaps are exactly the scheduled delays.
    assert len(calls) == MAX_ATTEMPTS
    assert [b - a for a, b in zip(calls, calls[1:], strict=False)] == [200, 400]


def test_a_failing_task_level_message_is_retried_then_fails_the_task(
    make_harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = make_harness(worker__max_attempts=MAX_ATTEMPTS)
    victim = harness.start([scripted("1"), scripted("2", "1")], id="victim")
    bystander = harness.start([scripted("1"), scripted("2", "1")], id="bystander")
    failing = Failing(victim.id, run_task.prepare, harness.clock)
    monkeypatch.setattr(run_task, "prepare", failing)
    _one_message_at_a_time(harness.services)
    _assert_backoff(failing.calls)
    assert _dead_kinds(harness.services) == ["runTask"]
    done = harness.get(victim.id)
    assert done.status == S.TERMINAL
    stage = done.stage_by_ref_id("1")
    assert stage.status == S.TERMINAL
    assert stage.tasks[0].status == S.TERMINAL
    errors = stage.context["exception"]["details"]["errors"]
    assert errors == ["runTask could not be processed: delivered 3 times without acknowledgement"]
    assert done.stage_by_ref_id("2").status == S.NOT_STARTED
    assert harness.get(bystander.id).status == S.SUCCEEDED


def test_a_failing_stage_level_message_is_retried_then_aborts_the_stage(
    make_harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = make_harness(worker__max_attempts=MAX_ATTEMPTS)
    victim = harness.start([scripted("1"), scripted("2", "1")], id="victim")
    bystander = harness.start([scripted("1"), scripted("2", "1")], id="bystander")
    failing = Failing(victim.id, TRANSACTIONAL[m.StartStage.kind], harness.clock)
    monkeypatch.setitem(TRANSACTIONAL, m.StartStage.kind, failing)
    _one_message_at_a_time(harness.services)
    _assert_backoff(failing.calls)
    assert _dead_kinds(harness.services) == ["startStage"]
    done = harness.get(victim.id)
    assert done.status == S.TERMINAL
    stage = done.stage_by_ref_id("1")
    assert stage.status == S.TERMINAL
    assert stage.context["exception"]["details"]["errors"] == [
        "startStage could not be processed: delivered 3 times without acknowledgement"
    ]
    assert harness.get(bystander.id).status == S.SUCCEEDED


def test_a_failing_execution_level_message_is_retried_then_fails_the_execution(
    make_harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = make_harness(worker__max_attempts=MAX_ATTEMPTS)
    victim = harness.start([scripted("1")], id="victim")
    bystander = harness.start([scripted("1")], id="bystander")
    failing = Failing(victim.id, TRANSACTIONAL[m.StartExecution.kind], harness.clock)
    monkeypatch.setitem(TRANSACTIONAL, m.StartExecution.kind, failing)
    harness.run()  # inline handling on: StartExecution is the first of its chain anyway
    _assert_backoff(failing.calls)
    assert _dead_kinds(harness.services) == ["startExecution"]
    done = harness.get(victim.id)
    assert done.status == S.TERMINAL
    assert done.extra["errors"] == [
        "startExecution could not be processed: delivered 3 times without acknowledgement"
    ]
    assert harness.get(bystander.id).status == S.SUCCEEDED


def test_a_terminal_message_that_dies_too_goes_one_level_up(
    make_harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CompleteTask keeps failing: the task's CompleteTask dies, then the CompleteTask(TERMINAL) sent
    for it dies too; the stage is aborted instead of the same message being sent forever."""
    harness = make_harness(worker__max_attempts=MAX_ATTEMPTS)
    victim = harness.start([scripted("1")], id="victim")
    failing = Failing(victim.id, TRANSACTIONAL[m.CompleteTask.kind], harness.clock)
    monkeypatch.setitem(TRANSACTIONAL, m.CompleteTask.kind, failing)
    _one_message_at_a_time(harness.services)
    assert len(failing.calls) == 2 * MAX_ATTEMPTS
    assert _dead_kinds(harness.services) == ["completeTask", "completeTask"]
    done = harness.get(victim.id)
    assert done.status == S.TERMINAL
    assert done.stage_by_ref_id("1").status == S.TERMINAL


def test_an_abort_that_dies_too_fails_the_execution(
    make_harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = make_harness(worker__max_attempts=MAX_ATTEMPTS)
    victim = harness.start([scripted("1")], id="victim")
    for kind in (m.StartStage.kind, m.AbortStage.kind):
        monkeypatch.setitem(TRANSACTIONAL, kind, Failing(victim.id, TRANSACTIONAL[kind], harness.clock))
    _one_message_at_a_time(harness.services)
    assert _dead_kinds(harness.services) == ["abortStage", "startStage"]
    done = harness.get(victim.id)
    assert done.status == S.TERMINAL
    assert done.extra["errors"] == [
        "abortStage could not be processed: delivered 3 times without acknowledgement"
    ]


def test_a_dead_start_of_a_waiting_execution_does_not_block_the_line(
    make_harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    """limitConcurrent, keepWaitingPipelines: the first runs, the second and third wait. When the
    first ends, the second's StartExecution keeps failing and dies; the third must still run."""
    harness = make_harness(worker__max_attempts=MAX_ATTEMPTS)
    config = {"limitConcurrent": True, "keepWaitingPipelines": True}
    first = harness.start([scripted("1", polls=2)], **config)
    harness.run(advance_clock=False)
    harness.clock.advance(ms=1)
    second = harness.start([scripted("1")], **config)
    harness.run(advance_clock=False)
    harness.clock.advance(ms=1)
    third = harness.start([scripted("1")], **config)
    harness.run(advance_clock=False)
    assert [harness.get(e.id).status for e in (first, second, third)] == [
        S.RUNNING,
        S.NOT_STARTED,
        S.NOT_STARTED,
    ]
    failing = Failing(second.id, TRANSACTIONAL[m.StartExecution.kind], harness.clock)
    monkeypatch.setitem(TRANSACTIONAL, m.StartExecution.kind, failing)
    harness.run()
    assert [harness.get(e.id).status for e in (first, second, third)] == [
        S.SUCCEEDED,
        S.TERMINAL,
        S.SUCCEEDED,
    ]
    assert len(failing.calls) == MAX_ATTEMPTS
    assert harness.get(second.id).extra["errors"] == [
        "startExecution could not be processed: delivered 3 times without acknowledgement"
    ]


# -- undecodable -----------------------------------------------------------------------------------


def test_undecodable_messages_are_dropped_and_the_worker_goes_on(harness: Harness) -> None:
    execution = harness.start([scripted("1", polls=2), scripted("2", "1")])
    harness.run(advance_clock=False)
    base = {"executionType": "PIPELINE", "executionId": execution.id, "application": "app"}
    bodies = [
        "{this is not json",
        "[1, 2, 3]",
        '"just a string"',
        '{"kind": "launchRocket"}',
        '{"kind": "startStage"}',
        '{"kind": "completeTask", "stageId": "s", "taskId": "1", "status": "EXPLODED", '
        + ", ".join(f'"{k}": "{v}"' for k, v in base.items())
        + "}",
    ]
    _push(
        harness.services,
        *(QueuedMessage("startStage", body, f"junk-{i}", execution.id) for i, body in enumerate(bodies)),
    )
    harness.run()
    assert harness.get(execution.id).status == S.SUCCEEDED
    assert _queue_is_empty(harness.services)
    assert list(harness.services.queue.dead_letters()) == []


# -- the database goes away ------------------------------------------------------------------------


class TcpProxy:
    """A TCP relay on 127.0.0.1 in front of the test PostgreSQL that can be cut (listening socket and
    every relayed connection closed, so connects are refused and open ones drop) and restored on the
    same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            doomed, self._sockets = self._sockets, set()
        if listener is not None:
            _close(listener)  # shutdown wakes the accept() in progress at once
        for sock in doomed:
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                live = self._listener is listener
                if live:
                    self._sockets |= {client, upstream}
            if not live:  # cut while this one was being connected
                _close(client)
                _close(upstream)
                return
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(src)
            _close(dst)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@pytest.fixture
def pg_schema() -> Iterator[PostgresSchema]:
    require_postgres()
    schema = PostgresSchema()
    try:
        yield schema
    finally:
        schema.drop()


@pytest.fixture
def pg_services(pg_schema: PostgresSchema) -> Iterator[Services]:
    services = make_services(pg_schema.url, clock=SystemClock())
    try:
        yield services
    finally:
        services.close()


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.slow
def test_workers_ride_out_a_database_outage(
    pg_schema: PostgresSchema, pg_services: Services, tmp_path: Path
) -> None:
    """A real `gennaker worker` reaches PostgreSQL through a proxy that is cut for three seconds in
    the middle of a pipeline of wait stages: it backs off, carries on when the database returns, and
    the pipeline ends SUCCEEDED with every stage run once."""
    services = pg_services
    url = sa.engine.make_url(pg_schema.url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    log = tmp_path / "worker.log"
    env = {**os.environ, "GENNAKER_DATABASE_URL": through_proxy, "GENNAKER_LOG_LEVEL": "warning"}
    gennaker = Path(sys.executable).with_name("gennaker")
    with log.open("wb") as handle:
        worker = subprocess.Popen(
            [str(gennaker), "worker", "--concurrency", "2"], env=env, stdout=handle, stderr=handle
        )
    stages = [
        {
            "refId": str(i),
            "requisiteStageRefIds": [str(i - 1)] if i > 1 else [],
            "type": "wait",
            "waitTime": 0.3,
        }
        for i in range(1, 9)
    ]
    try:
        execution = services.launcher.start_pipeline(
            {"application": "outage", "name": "outage", "id": "outage", "stages": stages}
        )

        def finished_stages() -> int:
            with services.db.read() as conn:
                done = services.executions.load(conn, execution.id)
            return sum(1 for s in done.stages if s.status == S.SUCCEEDED)

        _wait_for(lambda: finished_stages() >= 2, 60, "the pipeline did not start")
        proxy.cut()
        time.sleep(3)
        assert worker.poll() is None, "the worker died during the outage:\n" + log.read_text()
        assert finished_stages() < len(stages), "the outage came too late to matter"
        proxy.start()

        def status() -> S | None:
            with services.db.read() as conn:
                return services.executions.status_of(conn, execution.id)

        _wait_for(lambda: (status() or S.RUNNING).is_complete, 90, "the pipeline did not finish")
        assert worker.poll() is None, "the worker died:\n" + log.read_text()
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
        try:
            code = worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            code = worker.wait()
        proxy.cut()
    output = log.read_text()
    assert code == 0, output
    assert "unavailable" in output or "lost its connection" in output, output  # it did see the outage
    with services.db.read() as conn:
        done = services.executions.load(conn, execution.id)
        rows = conn.execute(
            sa.select(events.c.type, events.c.body).where(events.c.execution_id == execution.id)
        ).all()
    assert done.status == S.SUCCEEDED
    assert [s.status for s in done.stages] == [S.SUCCEEDED] * len(stages)
    starts = Counter(r.body for r in rows if r.type == "stage.starting")
    completes = Counter(r.body for r in rows if r.type == "stage.complete")
    assert sum(starts.values()) == len(stages) and max(starts.values()) == 1
    assert sum(completes.values()) == len(stages) and max(completes.values()) == 1
    assert [r.type for r in rows].count("pipeline.complete") == 1


@pytest.mark.slow
def test_a_message_caught_in_flight_by_the_outage_is_handled_when_the_database_returns(
    pg_schema: PostgresSchema, pg_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection drops in the middle of a handler's transaction (the proxy is cut from inside
    it) and stays down for two seconds, so the worker cannot even give the message back. It must be
    handled again once the database returns, not a whole lease (two minutes) later."""
    url = sa.engine.make_url(pg_schema.url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    worker = make_services(through_proxy, clock=SystemClock(), plugins=(EngineTestPlugin(),))
    start_stage = TRANSACTIONAL[m.StartStage.kind]
    cut: list[str] = []

    def cut_mid_transaction(ctx: Any, message: m.StartStage) -> None:
        stage = ctx.load(message.execution_id).stage(message.stage_id)
        if stage is not None and stage.ref_id == "2" and not cut:
            cut.append(message.stage_id)
            proxy.cut()
            threading.Timer(2.0, proxy.start).start()
        start_stage(ctx, message)

    monkeypatch.setitem(TRANSACTIONAL, m.StartStage.kind, cut_mid_transaction)
    stop = threading.Event()
    crashed: list[BaseException] = []

    def work() -> None:
        async def main() -> None:
            halt = asyncio.Event()
            running = asyncio.create_task(Processor(worker, concurrency=2).run(halt))
            while not stop.is_set() and not running.done():
                await asyncio.sleep(0.05)
            halt.set()
            await running

        try:
            asyncio.run(main())
        except BaseException as exc:
            crashed.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    try:
        stages = [
            {
                "refId": str(i),
                "requisiteStageRefIds": [str(i - 1)] if i > 1 else [],
                "type": "wait",
                "waitTime": 0.1,
            }
            for i in range(1, 4)
        ]
        execution = pg_services.launcher.start_pipeline(
            {"application": "outage", "name": "outage", "id": "outage", "stages": stages}
        )

        def complete() -> bool:
            with pg_services.db.read() as conn:
                status = pg_services.executions.status_of(conn, execution.id)
            return status is not None and status.is_complete

        _wait_for(complete, 30, "the pipeline is stuck behind the message the outage caught")
    finally:
        stop.set()
        thread.join(30)
        proxy.cut()
        worker.close()
    assert crashed == [] and not thread.is_alive()
    assert cut, "the outage never happened"
    with pg_services.db.read() as conn:
        done = pg_services.executions.load(conn, execution.id)
        starts = conn.execute(
            sa.select(sa.func.count()).where(
                events.c.execution_id == execution.id, events.c.type == "stage.starting"
            )
        ).scalar_one()
    assert done.status == S.SUCCEEDED
    assert [s.status for s in done.stages] == [S.SUCCEEDED] * 3
    assert starts == 3
