"""Simultaneous triggers on several workers never run more executions at once than allowed (issue 3):
four `gennaker worker` processes share one PostgreSQL database; fifty executions of a pipeline are
started in one burst from fifty threads; what the database recorded (start and end times of the
executions, and the pipeline.starting / pipeline.complete events) must never show more overlapping
than the pipeline allows: one for limitConcurrent, three for maxConcurrentExecutions=3, one across
two pipelines sharing a named lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gennaker.clock import SystemClock
from gennaker.model.execution import Execution
from gennaker.model.status import ExecutionStatus as S
from gennaker.services import Services
from gennaker.store import json as jsonlib
from gennaker.store.schema import events
from gennaker.testing import make_services
from tests.conftest import PostgresSchema, require_postgres

pytestmark = pytest.mark.slow

WORKERS = 4
BURST = 50
WAIT = 0.05


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """A PostgreSQL schema with four worker processes on it; yields the test's own Services."""
    require_postgres()
    schema = PostgresSchema()
    # Connections stay well under PostgreSQL's default 100, with other tests using the server too:
    # the fifty triggering threads share the pool's 2 x 5.
    services = make_services(schema.url, clock=SystemClock(), database__pool_size=5)
    logs = tmp_path_factory.mktemp("workers")
    env = {
        **os.environ,
        "GENNAKER_DATABASE_URL": schema.url,
        "GENNAKER_DATABASE__POOL_SIZE": "4",
        "GENNAKER_LOG_LEVEL": "warning",
    }
    gennaker = Path(sys.executable).with_name("gennaker")
    workers = []
    for i in range(WORKERS):
        with (logs / f"worker{i}.log").open("wb") as handle:
            workers.append(subprocess.Popen([str(gennaker), "worker"], env=env, stdout=handle, stderr=handle))
    try:
        yield services
        for i, worker in enumerate(workers):
            assert worker.poll() is None, (logs / f"worker{i}.log").read_text()
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        services.close()
        schema.drop()


def _burst(services: Services, configs: list[Mapping[str, Any]]) -> list[str]:
    """Start one execution per config, all at once from as many threads."""
    barrier = threading.Barrier(len(configs))
    started: list[str] = []
    failed: list[BaseException] = []
    lock = threading.Lock()

    def trigger(config: Mapping[str, Any]) -> None:
        try:
            barrier.wait(30)
            execution = services.launcher.start_pipeline(config)
            with lock:
                started.append(execution.id)
        except BaseException as exc:  # reported by the test, not lost in a thread
            with lock:
                failed.append(exc)

    threads = [threading.Thread(target=trigger, args=(config,)) for config in configs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failed == []
    assert len(started) == len(configs)
    return started


def _finished(services: Services, ids: list[str], seconds: float = 180) -> list[Execution]:
    deadline = time.monotonic() + seconds
    while True:
        with services.db.read() as conn:
            executions = services.executions.load_many(conn, ids)
        if all(e.status.is_complete for e in executions):
            return executions
        running = sum(1 for e in executions if not e.status.is_complete)
        assert time.monotonic() < deadline, f"{running} executions did not finish"
        time.sleep(0.2)


def _most_at_once(intervals: list[tuple[int, int]]) -> int:
    """The largest number of [start, end) intervals running at one moment: one that ends when another
    starts does not overlap it; an empty one counts for itself at its instant."""
    return max(sum(1 for s, e in intervals if s <= start < e) + (start == end) for start, end in intervals)


def _event_intervals(services: Services, ids: list[str]) -> list[tuple[int, int]]:
    with services.db.read() as conn:
        rows = conn.execute(
            sa.select(events.c.execution_id, events.c.type, events.c.ts, events.c.body).where(
                events.c.execution_id.in_(ids), events.c.type.in_(["pipeline.starting", "pipeline.complete"])
            )
        ).all()
    starts: dict[str, list[int]] = {}
    ends: dict[str, list[int]] = {}
    for row in rows:
        assert jsonlib.loads(row.body)["executionId"] == row.execution_id
        (starts if row.type == "pipeline.starting" else ends).setdefault(row.execution_id, []).append(row.ts)
    assert sorted(starts) == sorted(ids) and sorted(ends) == sorted(ids)
    assert all(len(v) == 1 for v in (*starts.values(), *ends.values())), "an execution started or ended twice"
    return [(starts[i][0], ends[i][0]) for i in ids]


def _config(config_id: str, wait: float, **extra: Any) -> dict[str, Any]:
    return {
        "application": "race",
        "name": config_id,
        "id": config_id,
        "stages": [{"refId": "1", "type": "wait", "waitTime": wait}],
        **extra,
    }


def _check(services: Services, ids: list[str], allowed: int) -> None:
    done = _finished(services, ids)
    assert [e.status for e in done] == [S.SUCCEEDED] * len(ids)
    stored = [(e.start_time or 0, e.end_time or 0) for e in done]
    assert all(0 < start <= end for start, end in stored)
    assert _most_at_once(stored) == allowed
    assert _most_at_once(_event_intervals(services, ids)) == allowed


def test_limit_concurrent_runs_fifty_simultaneous_triggers_one_at_a_time(cluster: Services) -> None:
    config = _config("serial", WAIT, limitConcurrent=True, keepWaitingPipelines=True)
    ids = _burst(cluster, [config] * BURST)
    _check(cluster, ids, allowed=1)


def test_max_concurrent_executions_never_runs_more_than_three(cluster: Services) -> None:
    config = _config("three", 0.3, maxConcurrentExecutions=3, keepWaitingPipelines=True)
    ids = _burst(cluster, [config] * BURST)
    _check(cluster, ids, allowed=3)


def test_a_named_lock_shared_by_two_pipelines_is_held_by_one_execution_at_a_time(cluster: Services) -> None:
    lock = [{"name": "shared-env"}]
    deploy = _config("deploy", WAIT, locks=lock)
    migrate = _config("migrate", WAIT, locks=lock)
    ids = _burst(cluster, [deploy, migrate] * (BURST // 2))
    _check(cluster, ids, allowed=1)
    with cluster.db.read() as conn:
        configs = {e.pipeline_config_id for e in cluster.executions.load_many(conn, ids)}
    assert configs == {"deploy", "migrate"}
