"""Crash recovery does not wait for leases (issue #10, item 9): ``gennaker up`` (SQLite) killed with
SIGKILL while a webhook call is in flight leaves the call's message leased for two minutes; the
restarted process releases every lease of its database at start and delivers it again at once. On
PostgreSQL, a second worker releases the leases of a killed worker once that worker's liveness row
has expired. Real processes, a real SQLite file and PostgreSQL, a real HTTP server that holds the
call; the assertions are on the queue rows (the old lease still had long to run)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gennaker.clock import SystemClock
from gennaker.model.status import ExecutionStatus as S
from gennaker.services import Services
from gennaker.store.schema import queue_messages, worker_liveness
from gennaker.testing import make_services
from tests.conftest import PostgresSchema, require_postgres
from tests.engine.held_http import HeldServer, holding

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]
GENNAKER = str(Path(sys.executable).with_name("gennaker"))


def wait_for(done: Callable[[], bool], what: str, seconds: float = 30) -> None:
    """Poll until ``done`` (a guard against hanging; far below the two-minute lease)."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def spawn(command: str, url: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GENNAKER_")},
        "GENNAKER_DATABASE_URL": url,
        "GENNAKER_PORT": str(free_port()),
        "GENNAKER_LOG_LEVEL": "info",
        **env,
    }
    with log.open("ab") as handle:
        return subprocess.Popen(
            [GENNAKER, command], cwd=log.parent, env=environment, stdout=handle, stderr=handle
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_task_row(services: Services) -> Any:
    with services.db.read() as conn:
        return conn.execute(
            sa.select(queue_messages.c.lease_token, queue_messages.c.visible_at).where(
                queue_messages.c.kind == "runTask"
            )
        ).first()


def start_webhook(services: Services, held: HeldServer) -> str:
    config = {
        "application": "shop",
        "name": "notify",
        "id": "notify",
        "stages": [{"refId": "1", "type": "webhook", "name": "call", "url": held.url(), "method": "POST"}],
    }
    return services.launcher.start_pipeline(config, {"type": "manual", "user": "ana"}).id


def kill_during_call(
    services: Services, held: HeldServer, process: subprocess.Popen[bytes], execution_id: str
) -> tuple[str, int]:
    assert held.arrived.wait(30), "the webhook call never arrived"
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    row = run_task_row(services)
    assert row is not None and row.lease_token is not None, "the call's message should be leased"
    # The dead process's lease has most of its two minutes left.
    assert row.visible_at > services.clock.now_ms() + 60_000
    with services.db.read() as conn:
        assert services.executions.status_of(conn, execution_id) == S.RUNNING
    return str(row.lease_token), int(row.visible_at)


def redelivered_before_expiry(services: Services, held: HeldServer, old_token: str, old_expiry: int) -> None:
    wait_for(lambda: len(held.requests) >= 2, "the call to be made again")
    assert services.clock.now_ms() < old_expiry  # not by the old lease running out
    row = run_task_row(services)
    assert row is not None and row.lease_token not in (None, old_token)
    assert str(row.lease_token).split(".")[0] != old_token.split(".")[0]  # another holder has it


def finish(services: Services, held: HeldServer, execution_id: str) -> None:
    held.release.set()

    def ended() -> bool:
        with services.db.read() as conn:
            status = services.executions.status_of(conn, execution_id)
        return status is not None and status.is_complete

    wait_for(ended, "the execution to end")
    with services.db.read() as conn:
        assert services.executions.status_of(conn, execution_id) == S.SUCCEEDED


@pytest.fixture
def held() -> Iterator[HeldServer]:
    with holding(hold_s=60) as server:
        yield server


def test_restarted_gennaker_up_delivers_a_killed_call_again_at_once(tmp_path: Path, held: HeldServer) -> None:
    """Item 9: kill -9 of ``gennaker up`` during a webhook call; the restarted process left the
    execution RUNNING until the lease (120 s) expired."""
    url = f"sqlite:///{tmp_path / 'up.db'}"
    log = tmp_path / "up.log"
    first = spawn("up", url, log)
    services = make_services(url, clock=SystemClock())
    second = None
    try:
        execution_id = start_webhook(services, held)
        old_token, old_expiry = kill_during_call(services, held, first, execution_id)
        second = spawn("up", url, log)
        redelivered_before_expiry(services, held, old_token, old_expiry)
        finish(services, held, execution_id)
    finally:
        for process in (first, second):
            if process is not None:
                stop(process)
        services.close()
    assert "released 1 message lease(s)" in log.read_text()


@pytest.fixture
def pg_services() -> Iterator[Services]:
    require_postgres()
    schema = PostgresSchema()
    services = make_services(schema.url, clock=SystemClock())
    try:
        yield services
    finally:
        services.close()
        schema.drop()


def test_a_worker_releases_the_leases_of_a_dead_worker_on_postgresql(
    pg_services: Services, tmp_path: Path, held: HeldServer
) -> None:
    """Item 9 on PostgreSQL: a second worker takes the killed worker's message once the killed
    worker's liveness row has expired, not when its lease does."""
    services = pg_services
    log = tmp_path / "worker.log"
    fast = {"GENNAKER_WORKER__LIVENESS_SECONDS": "1"}
    first = spawn("worker", services.db.url, log, **fast)
    second = None
    try:
        wait_for(lambda: _liveness_rows(services) == 1, "the first worker's liveness row")
        execution_id = start_webhook(services, held)
        old_token, old_expiry = kill_during_call(services, held, first, execution_id)
        second = spawn("worker", services.db.url, log, **fast)
        redelivered_before_expiry(services, held, old_token, old_expiry)
        with services.db.read() as conn:
            holders = [r.holder for r in conn.execute(sa.select(worker_liveness.c.holder)).all()]
        assert old_token.split(".")[0] not in holders  # the dead worker's row was dropped
        finish(services, held, execution_id)
    finally:
        for process in (first, second):
            if process is not None:
                stop(process)
    assert "stopped renewing its liveness row; 1 of its message(s) delivered again" in log.read_text()


def _liveness_rows(services: Services) -> int:
    with services.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(worker_liveness)).scalar_one())
