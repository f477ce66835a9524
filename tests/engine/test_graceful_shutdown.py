"""Graceful shutdown of a real `gennaker worker` (issue 3): on SIGTERM with a task in flight it stops
leasing, finishes what it holds, and exits 0; a worker started afterwards completes the pipeline.

The slow task comes from a plugin installed the way users install one (a distribution with a
``gennaker`` entry point, here on PYTHONPATH), so the worker process runs unmodified."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa

from gennaker.clock import SystemClock
from gennaker.model.execution import Execution
from gennaker.model.status import ExecutionStatus as S
from gennaker.services import Services
from gennaker.store.schema import queue_messages
from gennaker.testing import make_services
from tests.conftest import PostgresSchema, require_postgres

pytestmark = pytest.mark.slow

PLUGIN = '''
"""A stage whose task sleeps (no I/O: asyncio.sleep), then says which process ran it."""

import asyncio
import os

from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskSpec
from gennaker.hookspecs import hookimpl


class SleepTask(BaseTask):
    async def execute(self, run):
        await asyncio.sleep(float(run.context.get("seconds", 1)))
        return TaskResult.succeeded({"ranBy": os.getpid()})


class SleepStage(BaseStage):
    type = "sleep"

    def tasks(self, stage):
        return [TaskSpec("sleep", "sleepTask")]


@hookimpl
def register_stages(registry, settings):
    registry.add_task("sleepTask", SleepTask())
    registry.add_stage(SleepStage())
'''


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    """A directory holding the plugin module and its distribution metadata (entry point)."""
    root = tmp_path / "site"
    dist = root / "gennaker_sleep_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (root / "gennaker_sleep_plugin.py").write_text(PLUGIN)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: gennaker-sleep-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[gennaker]\nsleep = gennaker_sleep_plugin\n")
    return root


def _load_plugin(root: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("gennaker_sleep_plugin", root / "gennaker_sleep_plugin.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def pg(plugin_dir: Path) -> Iterator[Services]:
    require_postgres()
    schema = PostgresSchema()
    services = make_services(schema.url, clock=SystemClock(), plugins=(_load_plugin(plugin_dir),))
    try:
        yield services
    finally:
        services.close()
        schema.drop()


def _worker(services: Services, plugin_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GENNAKER_DATABASE_URL": services.db.url,
        "GENNAKER_LOG_LEVEL": "info",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(plugin_dir), os.environ.get("PYTHONPATH")])),
    }
    gennaker = Path(sys.executable).with_name("gennaker")
    with log.open("wb") as handle:
        return subprocess.Popen(
            [str(gennaker), "worker", "--concurrency", "2"], env=env, stdout=handle, stderr=handle
        )


def _stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _load(services: Services, execution_id: str) -> Execution:
    with services.db.read() as conn:
        return services.executions.load(conn, execution_id)


def _leased_run_tasks(services: Services) -> int:
    with services.db.read() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(
                    queue_messages.c.kind == "runTask", queue_messages.c.lease_token.is_not(None)
                )
            ).scalar_one()
        )


def test_sigterm_finishes_the_task_in_flight_and_a_new_worker_takes_over(
    pg: Services, plugin_dir: Path, tmp_path: Path
) -> None:
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = _worker(pg, plugin_dir, first_log)
    second: subprocess.Popen[bytes] | None = None
    try:
        execution = pg.launcher.start_pipeline(
            {
                "application": "shutdown",
                "name": "shutdown",
                "id": "shutdown",
                "stages": [
                    {"refId": "1", "type": "sleep", "seconds": 3},
                    {"refId": "2", "requisiteStageRefIds": ["1"], "type": "sleep", "seconds": 0.2},
                ],
            }
        )
        _wait_for(lambda: _leased_run_tasks(pg) == 1, 60, "the first worker never started the slow task")
        first.send_signal(signal.SIGTERM)
        try:
            code = first.wait(20)
        except subprocess.TimeoutExpired:
            pytest.fail("the worker did not stop after SIGTERM:\n" + first_log.read_text())
        assert code == 0, first_log.read_text()
        log = first_log.read_text()
        assert "waiting for work in flight" in log and "stopped" in log, log

        held = _load(pg, execution.id)
        one, two = held.stage_by_ref_id("1"), held.stage_by_ref_id("2")
        assert one is not None and two is not None
        assert one.status == S.SUCCEEDED
        assert one.context["ranBy"] == first.pid  # it finished what it held
        assert "ranBy" not in two.context  # and took nothing new
        assert held.status == S.RUNNING

        second = _worker(pg, plugin_dir, second_log)
        _wait_for(
            lambda: _load(pg, execution.id).status.is_complete, 60, "the second worker did not take over"
        )
        done = _load(pg, execution.id)
        assert done.status == S.SUCCEEDED
        two = done.stage_by_ref_id("2")
        assert two is not None and two.context["ranBy"] == second.pid
        assert [s.status for s in done.stages] == [S.SUCCEEDED, S.SUCCEEDED]
    finally:
        _stop(first)
        if second is not None:
            _stop(second)
    assert second.returncode == 0, second_log.read_text()


def test_an_idle_worker_stops_at_once_on_sigterm(pg: Services, plugin_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "idle.log"
    worker = _worker(pg, plugin_dir, log)
    try:
        _wait_for(lambda: "ready in" in log.read_text(), 30, "the worker did not start")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(20) == 0, log.read_text()
        assert "stopped" in log.read_text()
    finally:
        _stop(worker)
