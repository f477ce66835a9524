"""Local provider benchmark: deploy time and the cost of supervision.

1. deploy: a real ``gennaker up`` on a throw-away SQLite file; the clock runs from triggering an
   ad-hoc bake -> deploy of a 10-instance server group (the example service) until the task has
   SUCCEEDED, which is when every instance is Up (behind a load balancer unless ``--no-lb``).
2. supervise: the server group is resized to 50 instances; then Gennaker's own process (not the
   instances) is sampled for CPU time and resident memory over ``--seconds`` while it supervises
   them (health checks, exit checks, log rotation checks, the caching agent).

    .venv/bin/python bench/local_provider.py [--no-lb] [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
GENNAKER = str(Path(sys.executable).with_name("gennaker"))
TICKS = os.sysconf("SC_CLK_TCK")


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _wait(client: httpx.Client, ref: str, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found: dict[str, Any] = client.get(ref).json()
        if found.get("status") in ("SUCCEEDED", "TERMINAL", "CANCELED"):
            return found
        time.sleep(0.1)
    raise SystemExit(f"{ref} did not finish")


def main() -> None:
    """Run both measurements and print a table row each."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-lb", action="store_true", help="deploy without a load balancer")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="gennaker-bench-"))
    package = home / "hello"
    shutil.copytree(ROOT / "examples" / "hello", package)
    port = _port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GENNAKER_")},
        "GENNAKER_DATABASE_URL": f"sqlite:///{home / 'bench.db'}",
        "GENNAKER_DATA_DIR": str(home / "data"),
        "GENNAKER_PORT": str(port),
        "GENNAKER_LOG_LEVEL": "warning",
    }
    log = (home / "up.log").open("w")
    proc = subprocess.Popen([GENNAKER, "up"], cwd=home, env=env, stdout=log, stderr=log)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        for _ in range(300):
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        cluster: dict[str, Any] = {
            "cloudProvider": "local",
            "account": "local",
            "region": "local",
            "application": "bench",
            "stack": "web",
            "capacity": {"min": 10, "max": 10, "desired": 10},
            "command": [sys.executable, "app.py"],
            "healthCheck": {"path": "/health", "intervalSeconds": 1, "healthyThreshold": 1},
        }
        jobs: list[dict[str, Any]] = [
            {"refId": "1", "type": "bake", "cloudProvider": "local", "package": str(package)}
        ]
        if not args.no_lb:
            jobs.append(
                {
                    "refId": "2",
                    "type": "upsertLoadBalancer",
                    "cloudProvider": "local",
                    "account": "local",
                    "region": "local",
                    "name": "bench-web",
                    "listeners": [{"port": _port(), "protocol": "HTTP"}],
                    "healthCheck": {"path": "/health", "intervalSeconds": 1},
                }
            )
            cluster["loadBalancers"] = ["bench-web"]
        jobs.append({"refId": "3", "type": "deploy", "clusters": [cluster]})
        began = time.monotonic()
        ref = client.post(
            "/applications/bench/tasks", json={"application": "bench", "description": "bench", "job": jobs}
        ).json()["ref"]
        done = _wait(client, ref)
        elapsed = time.monotonic() - began
        print(
            f"deploy 10 instances ({'no load balancer' if args.no_lb else 'behind HAProxy'}): {done['status']} in {elapsed:.2f} s"
        )
        resize = {
            "type": "resizeServerGroup",
            "cloudProvider": "local",
            "credentials": "local",
            "region": "local",
            "serverGroupName": "bench-web-v000",
            "capacity": {"min": 50, "max": 50, "desired": 50},
        }
        ref = client.post(
            "/applications/bench/tasks",
            json={"application": "bench", "description": "resize", "job": [resize]},
        ).json()["ref"]
        began = time.monotonic()
        status = _wait(client, ref)["status"]
        print(f"resize 10 -> 50: {status} in {time.monotonic() - began:.2f} s")
        time.sleep(5)
        cpu_before, wall_before = _cpu_seconds(proc.pid), time.monotonic()
        peak = 0.0
        while time.monotonic() - wall_before < args.seconds:
            peak = max(peak, _rss_mb(proc.pid))
            time.sleep(1)
        cpu = (_cpu_seconds(proc.pid) - cpu_before) / (time.monotonic() - wall_before)
        print(
            f"supervising 50 instances: Gennaker CPU {cpu * 100:.1f}% of one core ({cpu * 100 / 50:.2f}% per instance), RSS {peak:.0f} MB"
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        subprocess.run(
            [GENNAKER, "local", "stop-all", "--yes"], cwd=home, env=env, capture_output=True, timeout=300
        )
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
