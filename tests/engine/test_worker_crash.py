"""Crash safety with real processes: two `gennaker worker` processes on PostgreSQL share a 50-stage
pipeline; one is killed with SIGKILL in the middle; the other finishes it, and every stage
transition happened exactly once (each is written with its event in one transaction)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gennaker.model.status import ExecutionStatus as S
from gennaker.services import Services
from gennaker.store.schema import events
from gennaker.testing import make_services
from tests.conftest import PostgresSchema, require_postgres

pytestmark = pytest.mark.slow
STAGES = 50


@pytest.fixture
def pg_services() -> Iterator[Services]:
    require_postgres()
    schema = PostgresSchema()
    from gennaker.clock import SystemClock

    services = make_services(schema.url)
    services.clock = SystemClock()
    try:
        yield services
    finally:
        services.close()
        schema.drop()


def _worker(url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GENNAKER_DATABASE_URL": url,
        # A killed worker's leases come back after this long, instead of the default two minutes.
        "GENNAKER_WORKER__LEASE_SECONDS": "2",
        "GENNAKER_LOG_LEVEL": "warning",
    }
    gennaker = Path(sys.executable).with_name("gennaker")
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [str(gennaker), "worker", "--concurrency", "2"], env=env, stdout=handle, stderr=handle
        )


def _completed_stages(services: Services, execution_id: str) -> int:
    with services.db.read() as conn:
        execution = services.executions.load(conn, execution_id)
    return sum(1 for s in execution.stages if s.status == S.SUCCEEDED)


def test_sigkill_of_a_worker_loses_nothing_and_repeats_nothing(pg_services: Services, tmp_path: Path) -> None:
    url = pg_services.db.url
    stages = [
        {
            "refId": str(i),
            "requisiteStageRefIds": [str(i - 1)] if i > 1 else [],
            "type": "wait",
            "waitTime": 0.1,
        }
        for i in range(1, STAGES + 1)
    ]
    workers = [_worker(url, tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        time.sleep(1.5)  # both workers up and polling
        execution = pg_services.launcher.start_pipeline(
            {"application": "crash", "name": "crash", "id": "crash", "stages": stages}
        )
        deadline = time.monotonic() + 30
        while _completed_stages(pg_services, execution.id) < STAGES // 3:
            assert time.monotonic() < deadline, "the pipeline did not make progress"
            time.sleep(0.05)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)
        deadline = time.monotonic() + 60
        while True:
            with pg_services.db.read() as conn:
                status = pg_services.executions.status_of(conn, execution.id)
            if status is not None and status.is_complete:
                break
            assert time.monotonic() < deadline, "the surviving worker did not finish the pipeline"
            time.sleep(0.1)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(10)
                except subprocess.TimeoutExpired:
                    worker.kill()
    with pg_services.db.read() as conn:
        done = pg_services.executions.load(conn, execution.id)
        rows = conn.execute(
            sa.select(events.c.type, events.c.body).where(events.c.execution_id == execution.id)
        ).all()
    assert done.status == S.SUCCEEDED
    assert all(s.status == S.SUCCEEDED for s in done.stages)
    assert len(done.stages) == STAGES
    starts = Counter(r.body for r in rows if r.type == "stage.starting")
    completes = Counter(r.body for r in rows if r.type == "stage.complete")
    assert sum(starts.values()) == STAGES and max(starts.values()) == 1
    assert sum(completes.values()) == STAGES and max(completes.values()) == 1
    assert [r.type for r in rows].count("pipeline.complete") == 1
    for stage in done.stages:
        assert len(stage.tasks) == 1 and stage.tasks[0].status == S.SUCCEEDED
