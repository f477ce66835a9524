"""Engine benchmark: how fast pipelines move through real worker processes.

Scenarios (``--size`` sets N; default 100):
  linear   one pipeline of N `wait` stages with waitTime 0 (every task runs inline)
  fanout   1 stage -> N-2 parallel stages -> 1 join
  queued   one pipeline of N `evaluateVariables` stages (each task goes through the queue)
  burst    1,000 executions of a 5-stage pipeline started at once
  burst200 200 executions of a 5-stage pipeline started at once

Each runs on SQLite (``--sync FULL`` or ``NORMAL``) and on PostgreSQL with 1 and 2 worker
processes. Workers are started and warmed up first; the clock runs from the moment the executions
are queued until the last one completes. ``tx/stage`` counts the workers' committed write
transactions (leases included, read-only polls not) per stage. The load average of the machine is
printed with every figure, and the CPU time (user + system) the workers spent during the run, and on
PostgreSQL that of the server processes serving them: on a loaded machine wall time says little,
CPU time says what the work cost.

    .venv/bin/python bench/engine.py                    # the original set, N = 100
    .venv/bin/python bench/engine.py --db sqlite --scenario linear --workers 1
    .venv/bin/python bench/engine.py --curve            # linear/fanout/queued at 10, 100, 500, 1000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

POSTGRES_URL = os.environ.get("GENNAKER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _wait_stage(ref: str, *requisites: str) -> dict[str, Any]:
    return {
        "refId": ref,
        "requisiteStageRefIds": list(requisites),
        "type": "wait",
        "name": f"w{ref}",
        "waitTime": 0,
    }


def _variables_stage(ref: str, *requisites: str) -> dict[str, Any]:
    return {
        "refId": ref,
        "requisiteStageRefIds": list(requisites),
        "type": "evaluateVariables",
        "name": f"v{ref}",
        "variables": [{"key": f"k{ref}", "value": ref}],
    }


def scenario(name: str, size: int = 100) -> tuple[dict[str, Any], int, int]:
    """(pipeline config, executions to start, stages per execution)."""
    if name in ("linear", "queued"):
        make = _wait_stage if name == "linear" else _variables_stage
        stages = [make("1")] + [make(str(i), str(i - 1)) for i in range(2, size + 1)]
        return {"stages": stages}, 1, size
    if name == "fanout":
        middle = [_wait_stage(f"m{i}", "start") for i in range(max(1, size - 2))]
        stages = [_wait_stage("start"), *middle, _wait_stage("join", *[s["refId"] for s in middle])]
        return {"stages": stages}, 1, len(stages)
    if name in ("burst", "burst200"):
        stages = [_wait_stage("1")] + [_wait_stage(str(i), str(i - 1)) for i in range(2, 6)]
        return {"stages": stages}, 1000 if name == "burst" else 200, 5
    raise SystemExit(f"unknown scenario {name}")


def _settings(url: str, concurrency: int, sync: str = "FULL") -> Any:
    from gennaker.config import load_settings

    return load_settings(
        environ={},
        overrides={
            "database.url": url,
            "worker.concurrency": concurrency,
            "database.sqlite_synchronous": sync,
            # Measure the engine, not how long an idle SQLite worker takes to notice work queued
            # by another process (the benchmark's): keep the short poll.
            **({"worker.idle_poll_max_ms": 50} if url.startswith("sqlite") else {}),
        },
    )


def worker_main(url: str, concurrency: int, ready: Any, stop: Any, sync: str, commits: Any) -> None:
    """One worker process: a Processor until told to stop; adds its commits to ``commits``."""
    import asyncio

    from sqlalchemy import event

    from gennaker.engine.processor import Processor
    from gennaker.services import build_services

    services = build_services(
        _settings(url, concurrency, sync), apply_migrations=False, load_entry_points=False
    )

    def count(conn: Any) -> None:
        if conn.get_execution_options().get("gennaker_write"):  # write transactions only
            with commits.get_lock():
                commits.value += 1

    event.listen(services.db.engine, "commit", count)

    async def run() -> None:
        stop_event = asyncio.Event()
        loop = asyncio.get_running_loop()
        threading.Thread(
            target=lambda: (stop.wait(), loop.call_soon_threadsafe(stop_event.set)), daemon=True
        ).start()
        ready.set()
        await Processor(services, concurrency=concurrency).run(stop_event)

    asyncio.run(run())
    services.close()


@dataclass
class Result:
    db: str
    scenario: str
    workers: int
    executions: int
    stages: int
    seconds: float
    transactions: int = 0
    sync: str = ""
    load: float = 0.0
    #: CPU seconds (user + system) the worker processes spent from the start to the last completion.
    cpu: float = 0.0
    #: The same for the PostgreSQL server processes serving the workers' connections.
    db_cpu: float = 0.0

    @property
    def tx_per_stage(self) -> float:
        return self.transactions / self.stages

    @property
    def per_stage_ms(self) -> float:
        return self.seconds * 1000 / self.stages

    @property
    def stages_per_second(self) -> float:
        return self.stages / self.seconds


def fresh_database(kind: str) -> tuple[str, Any]:
    """A migrated empty database URL and a cleanup function."""
    from gennaker.db import Database
    from gennaker.store import migrate

    if kind == "sqlite":
        directory = tempfile.mkdtemp(prefix="gennaker-bench-")
        url = f"sqlite:///{directory}/bench.db"
        cleanup: Any = lambda: None  # noqa: E731
    else:
        schema = "bench_" + uuid.uuid4().hex[:12]
        admin = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"

        def cleanup() -> None:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    db = Database(url)
    migrate.upgrade(db)
    db.dispose()
    return url, cleanup


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a running process, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


WORKER_APP = "gennaker-bench-worker"


def _backend_cpu(services: Any) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving a worker (same machine: read from /proc)."""
    with services.db.read() as conn:
        pids = conn.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :app"), {"app": WORKER_APP}
        ).scalars()
        found = {}
        for pid in pids:
            try:
                found[int(pid)] = _process_cpu(int(pid))
            except OSError:  # ended meanwhile, or the server runs elsewhere
                pass
    return found


def run_one(
    kind: str, name: str, workers: int, concurrency: int, size: int = 100, sync: str = "FULL"
) -> Result:
    from gennaker.model.status import ExecutionStatus
    from gennaker.services import build_services
    from gennaker.store.schema import executions

    url, cleanup = fresh_database(kind)
    config, count, stages_each = scenario(name, size)
    config.update(application="bench", name=name, id=f"bench-{name}")
    worker_url = url
    if kind == "postgres":
        worker_url = f"{url}&application_name={WORKER_APP}"
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    commits = ctx.Value("l", 0)
    readies = [ctx.Event() for _ in range(workers)]
    procs = [
        ctx.Process(target=worker_main, args=(worker_url, concurrency, r, stop, sync, commits))
        for r in readies
    ]
    for p in procs:
        p.start()
    for r in readies:
        r.wait(60)
    time.sleep(0.3)  # let the workers' first polls settle before counting
    services = build_services(
        _settings(url, concurrency, sync), apply_migrations=False, load_entry_points=False
    )
    launcher = services.launcher
    done_states = [s.value for s in ExecutionStatus if s.is_complete]
    prepared = [launcher.prepare_pipeline(None, config, {"type": "manual"}) for _ in range(count)]
    load = os.getloadavg()[0]
    with commits.get_lock():
        commits.value = 0
    cpu_before = sum(_process_cpu(p.pid) for p in procs if p.pid is not None)
    db_before = _backend_cpu(services) if kind == "postgres" else {}
    started = time.perf_counter()
    with services.db.transaction() as conn:
        for execution in prepared:
            launcher.enqueue(conn, execution)
    finished = 0
    while finished < count:
        time.sleep(0.005)
        with services.db.read() as conn:
            finished = conn.execute(
                sa.select(sa.func.count()).select_from(executions).where(executions.c.status.in_(done_states))
            ).scalar_one()
    seconds = time.perf_counter() - started
    cpu = sum(_process_cpu(p.pid) for p in procs if p.pid is not None) - cpu_before
    db_cpu = 0.0
    if kind == "postgres":
        db_cpu = sum(v - db_before.get(pid, 0.0) for pid, v in _backend_cpu(services).items())
    transactions = commits.value
    with services.db.read() as conn:
        bad = conn.execute(
            sa.select(sa.func.count()).select_from(executions).where(executions.c.status != "SUCCEEDED")
        ).scalar_one()
    stop.set()
    for p in procs:
        p.join(30)
    services.close()
    cleanup()
    if bad:
        raise SystemExit(f"{bad} executions did not succeed in {kind}/{name}")
    return Result(
        kind,
        name,
        workers,
        count,
        count * stages_each,
        seconds,
        transactions,
        sync if kind == "sqlite" else "",
        max(load, os.getloadavg()[0]),
        cpu,
        db_cpu,
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], action="append")
    parser.add_argument(
        "--scenario", choices=["linear", "fanout", "queued", "burst", "burst200"], action="append"
    )
    parser.add_argument("--workers", type=int, action="append")
    parser.add_argument("--size", type=int, action="append", help="stages per pipeline (N)")
    parser.add_argument("--curve", action="store_true", help="linear/fanout/queued at 10, 100, 500, 1000")
    parser.add_argument("--sync", choices=["FULL", "NORMAL"], default="FULL", help="SQLite synchronous")
    parser.add_argument("--concurrency", type=int, default=4, help="handlers per worker process")
    parser.add_argument("--repeat", type=int, default=3, help="runs per combination (median reported)")
    args = parser.parse_args(argv)
    dbs = args.db or ["sqlite", "postgres"]
    names = args.scenario or (["linear", "fanout", "queued"] if args.curve else ["linear", "fanout", "burst"])
    workers = args.workers or [1, 2]
    sizes = args.size or ([10, 100, 500, 1000] if args.curve else [100])
    print(
        f"{'db':16} {'scenario':8} {'workers':>7} {'execs':>6} {'stages':>7} {'wall s':>8} "
        f"{'ms/stage':>9} {'stages/s':>9} {'tx/stage':>8} {'load':>5} {'cpu s':>6} {'db cpu':>6}"
    )
    for kind in dbs:
        for name in names:
            for size in sizes if name in ("linear", "fanout", "queued") else [5]:
                for count in workers:
                    runs = [
                        run_one(kind, name, count, args.concurrency, size, args.sync)
                        for _ in range(args.repeat)
                    ]
                    result = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
                    spread = statistics.pstdev([r.seconds for r in runs]) if len(runs) > 1 else 0.0
                    label = f"{kind} {result.sync}".strip()
                    print(
                        f"{label:16} {name:8} {count:>7} {result.executions:>6} {result.stages:>7} "
                        f"{result.seconds:>8.3f} {result.per_stage_ms:>9.2f} {result.stages_per_second:>9.0f} "
                        f"{result.tx_per_stage:>8.2f} {max(r.load for r in runs):>5.1f}"
                        f" {result.cpu:>6.2f} {result.db_cpu:>6.2f}"
                        f"   (±{spread:.3f}s over {len(runs)})",
                        flush=True,
                    )


if __name__ == "__main__":
    main(sys.argv[1:])
