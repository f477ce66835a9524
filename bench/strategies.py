"""Deploy strategy benchmark: wall time of each strategy for a 4-instance server group, and how
much of it is Gennaker's own work.

For each strategy, a fresh ``gennaker up`` (throw-away SQLite file) deploys version 1 of the
example service (4 instances behind HAProxy, strategy none), then version 2 with the strategy,
while a load generator sends 50 requests per second through the load balancer. The clock runs
from triggering version 2 until its execution SUCCEEDED.

"Waiting" is the union of the intervals in which a health or drain wait was under way: the wait
tasks (waitForUpInstances, waitForCapacityMatch, waitForDownInstances, waitForServerGroupDisabled,
the cluster waits) and the disable/destroy operations (which drain in-flight requests). Gennaker's
overhead is the rest: planning, messages, database writes, operations other than draining, polls.

    .venv/bin/python bench/strategies.py [--strategy redblack] [--instances 4]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from gennaker.testing.load import generate_load

ROOT = Path(__file__).resolve().parents[1]
GENNAKER = str(Path(sys.executable).with_name("gennaker"))
CHECK = {"path": "/health", "intervalSeconds": 0.5}
WAIT_TASKS = (
    "waitForUpInstances",
    "waitForCapacityMatch",
    "waitForDownInstances",
    "waitForServerGroupDisabled",
    "waitForClusterDisable",
    "waitForScaleDownCluster",
    "waitForClusterShrink",
    "waitForDestroyedServerGroup",
    "disableServerGroup",
    "disableCluster",
    "shrinkCluster",
    "destroyServerGroup",
)
STRATEGIES: dict[str, dict[str, Any]] = {
    "highlander": {},
    "redblack": {"maxRemainingAsgs": 2, "scaleDown": True},
    "rollingredblack": {"targetPercentages": [25, 50, 100]},
    "custom": {"strategyApplication": "bench", "strategyPipeline": "bench-deploy-then-disable"},
}


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(client: httpx.Client, ref: str, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found: dict[str, Any] = client.get(ref).json()
        if found.get("status") in ("SUCCEEDED", "TERMINAL", "CANCELED"):
            return found
        time.sleep(0.05)
    raise SystemExit(f"{ref} did not finish")


def _union_seconds(intervals: list[tuple[int, int]]) -> float:
    total, end = 0, None
    for start, stop in sorted(intervals):
        if end is None or start > end:
            total += stop - start
            end = stop
        elif stop > end:
            total += stop - end
            end = stop
    return total / 1000


def _intervals(client: httpx.Client, execution: dict[str, Any]) -> list[tuple[int, int]]:
    """Wait intervals of the execution and of the pipelines it ran (a custom strategy's)."""
    intervals = []
    for stage in execution.get("stages") or []:
        child = (stage.get("context") or {}).get("executionId")
        if stage.get("type") == "pipeline" and child:
            intervals += _intervals(client, client.get(f"/pipelines/{child}").json())
        for task in stage.get("tasks") or []:
            if task.get("name") in WAIT_TASKS and task.get("startTime") and task.get("endTime"):
                intervals.append((int(task["startTime"]), int(task["endTime"])))
    return intervals


def _jobs(package: Path, lb: int, version: str, strategy: str, instances: int) -> list[dict[str, Any]]:
    cluster = {
        "cloudProvider": "local",
        "account": "local",
        "region": "local",
        "application": "bench",
        "stack": "web",
        "capacity": {"min": instances, "max": instances, "desired": instances},
        "strategy": strategy,
        "command": [sys.executable, "app.py"],
        "env": {"VERSION": version},
        "healthCheck": CHECK,
        "loadBalancers": ["bench-web"],
        **STRATEGIES.get(strategy, {}),
    }
    return [
        {
            "refId": "lb",
            "type": "upsertLoadBalancer",
            "cloudProvider": "local",
            "account": "local",
            "region": "local",
            "name": "bench-web",
            "listeners": [{"port": lb, "protocol": "HTTP"}],
            "healthCheck": CHECK,
        },
        {"refId": "1", "type": "bake", "cloudProvider": "local", "package": str(package)},
        {"refId": "2", "requisiteStageRefIds": ["1", "lb"], "type": "deploy", "clusters": [cluster]},
    ]


def run(strategy: str, instances: int) -> tuple[float, float, dict[str, Any]]:
    """(wall seconds, waiting seconds, load summary) of deploying version 2 with ``strategy``."""
    home = Path(tempfile.mkdtemp(prefix="gk-bench-"))
    package = home / "hello"
    shutil.copytree(ROOT / "examples" / "hello", package)
    port = _port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GENNAKER_")},
        "GENNAKER_DATABASE_URL": f"sqlite:///{home / 'bench.db'}",
        "GENNAKER_DATA_DIR": str(home / "d"),
        "GENNAKER_PORT": str(port),
        "GENNAKER_LOG_LEVEL": "warning",
    }
    log = (home / "up.log").open("w")
    proc = subprocess.Popen([GENNAKER, "up"], cwd=home, env=env, stdout=log, stderr=log)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    lb = _port()
    try:
        for _ in range(300):
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        client.post("/applications", json={"name": "bench", "email": "bench@example.com"})
        saved = client.post(
            "/strategies",
            json={
                "id": "bench-deploy-then-disable",
                "application": "bench",
                "name": "deploy-then-disable",
                "stages": [
                    {"refId": "1", "type": "deploy", "name": "Deploy", "clusters": []},
                    {
                        "refId": "2",
                        "requisiteStageRefIds": ["1"],
                        "type": "disableCluster",
                        "remainingEnabledServerGroups": 1,
                    },
                ],
            },
        )
        if saved.status_code != 200:
            raise SystemExit(f"saving the strategy config failed: {saved.status_code} {saved.text}")

        def start(version: str, chosen: str) -> str:
            body = {
                "application": "bench",
                "description": "bench",
                "job": _jobs(package, lb, version, chosen, instances),
            }
            ref = str(client.post("/applications/bench/tasks", json=body).json()["ref"])
            return ref.replace("/tasks/", "/pipelines/")

        first = _wait(client, start("1", ""))
        if first["status"] != "SUCCEEDED":
            errors = [
                (s["name"], s["context"].get("exception"))
                for s in first["stages"]
                if s["context"].get("exception")
            ]
            raise SystemExit(f"deploying version 1 ended {first['status']}: {errors}")
        with generate_load(f"http://127.0.0.1:{lb}/", rate=50) as load:
            load.wait_for_only("1")
            began = time.monotonic()
            done = _wait(client, start("2", strategy))
            elapsed = time.monotonic() - began
            if done["status"] != "SUCCEEDED":
                raise SystemExit(f"{strategy}: {done['status']}")
            load.wait_for_only("2", timeout=60)
        return elapsed, _union_seconds(_intervals(client, done)), load.summary()
    finally:
        proc.terminate()
        proc.wait(30)
        subprocess.run(
            [GENNAKER, "local", "stop-all", "--yes"], env=env, cwd=home, capture_output=True, timeout=120
        )
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    """One line per strategy."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--strategy", action="append", choices=sorted(STRATEGIES))
    parser.add_argument("--instances", type=int, default=4)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("| strategy | wall (s) | health/drain waits (s) | Gennaker's own (s) | requests | failed |")
    print("|---|---|---|---|---|---|")
    for strategy in args.strategy or list(STRATEGIES):
        wall, waiting, summary = run(strategy, args.instances)
        print(
            f"| {strategy} | {wall:.2f} | {waiting:.2f} | {wall - waiting:.2f} | {summary['requests']} | {summary['failed']} |"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
