"""API load test: 50 concurrent clients list and fetch executions while 100 pipelines run, against a
real ``gennaker up`` subprocess on SQLite (127.0.0.1, a free port, a throw-away directory).

Run: ``.venv/bin/python bench/api_load.py [--clients 50] [--pipelines 100] [--seconds 20]``.
Prints p50/p90/p99/max latency per request kind and the server's start time; the results are
recorded in bench/README.md ("API"). Bounded: it stops after ``--seconds`` of load and kills
nothing but the server it started.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

GENNAKER = str(Path(sys.executable).with_name("gennaker"))


def pipeline(index: int, seconds: float) -> dict[str, object]:
    """Eight waits in a row plus a parallel side branch, lasting about ``seconds`` in all, so the
    engine keeps moving stages for the whole measurement."""
    step = max(1, round(seconds / 8))
    stages: list[dict[str, object]] = [
        {
            "refId": str(n),
            "requisiteStageRefIds": [str(n - 1)] if n else [],
            "type": "wait",
            "name": f"step {n}",
            "waitTime": step,
        }
        for n in range(8)
    ]
    stages.append(
        {"refId": "side", "requisiteStageRefIds": ["0"], "type": "wait", "name": "side", "waitTime": step}
    )
    return {
        "application": "bench",
        "name": f"pipe-{index}",
        "parameterConfig": [{"name": "n", "default": "0"}],
        "stages": stages,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


class RawClient:
    """A minimal keep-alive HTTP/1.1 GET client on asyncio streams: httpx costs the load generator
    more CPU per request than the server spends, which would measure the client, not the server."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, target: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def client_loop(
    base: str,
    ids: list[str],
    config_ids: list[str],
    deadline: float,
    results: dict[str, list[float]],
    rate: float,
    timeline: list[tuple[float, float]],
) -> None:
    rng = random.Random()
    interval = 1 / rate if rate > 0 else 0.0
    url = httpx.URL(base)
    client = RawClient(url.host, url.port or 80)
    try:
        if interval:
            await asyncio.sleep(rng.random() * interval)
        next_at = time.monotonic()
        while time.monotonic() < deadline:
            if interval:
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            roll = rng.random()
            if roll < 0.6:
                kind, target = "GET /pipelines/{id}", f"/pipelines/{rng.choice(ids)}"
            elif roll < 0.8:
                kind, target = "GET /applications/{app}/pipelines", "/applications/bench/pipelines?limit=2"
            else:
                chosen = ",".join(rng.sample(config_ids, 3))
                kind, target = (
                    "GET /executions?pipelineConfigIds=",
                    f"/executions?pipelineConfigIds={chosen}&limit=5",
                )
            began = time.perf_counter()
            status = await client.get(target)
            elapsed = (time.perf_counter() - began) * 1000
            if status != 200:
                results.setdefault("errors", []).append(float(status))
            results.setdefault(kind, []).append(elapsed)
            timeline.append((time.monotonic(), elapsed))
    finally:
        await client.close()


async def run(args: argparse.Namespace, base: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        await http.post("/applications", json={"name": "bench", "email": "bench@example.com"})
        config_ids = []
        for index in range(10):
            await http.post("/pipelines", json=pipeline(index, args.seconds))
            config_ids.append(
                (await http.get(f"/applications/bench/pipelineConfigs/pipe-{index}")).json()["id"]
            )
        began = time.monotonic()
        ids = []
        for n in range(args.pipelines):
            response = await http.post(f"/pipelines/bench/pipe-{n % 10}", json={"parameters": {"n": str(n)}})
            ids.append(response.json()["ref"].rsplit("/", 1)[-1])
        print(f"started {len(ids)} pipelines in {time.monotonic() - began:.1f}s")
        results: dict[str, list[float]] = {}
        timeline: list[tuple[float, float]] = []
        deadline = time.monotonic() + args.seconds
        await asyncio.gather(
            *(
                client_loop(base, ids, config_ids, deadline, results, args.rate, timeline)
                for _ in range(args.clients)
            )
        )
        statuses: dict[str, int] = {}
        for execution_id in ids:
            status = (await http.get(f"/pipelines/{execution_id}")).json()["status"]
            statuses[status] = statuses.get(status, 0) + 1
    errors = results.pop("errors", [])

    total = sum(len(v) for v in results.values())
    pace = f"{args.rate:g} req/s each" if args.rate > 0 else "no think time"
    print(
        f"\n{args.clients} clients ({pace}), {args.seconds}s: {total} requests ({total / args.seconds:.0f}/s), {len(errors)} errors"
    )
    print(f"executions at the end: {statuses}")
    print(f"{'request':40} {'count':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    if timeline:
        start = min(t for t, _ in timeline)
        windows: dict[int, list[float]] = {}
        for t, elapsed in timeline:
            windows.setdefault(int((t - start) // 5), []).append(elapsed)
        spread = ", ".join(
            f"{w * 5}-{w * 5 + 5}s: {percentile(v, 99):.0f}" for w, v in sorted(windows.items())
        )
        print(f"p99 ms of all requests by 5 s window: {spread}")
    for kind, values in results.items():
        print(
            f"{kind:40} {len(values):6d} {statistics.median(values):8.1f} {percentile(values, 90):8.1f}"
            f" {percentile(values, 99):8.1f} {max(values):8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--pipelines", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="requests per second per client (0: back to back, saturation)"
    )
    parser.add_argument("--endpoint", help="use this running server instead of starting one (profiling)")
    args = parser.parse_args()
    if args.endpoint:
        asyncio.run(run(args, args.endpoint.rstrip("/")))
        return
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GENNAKER_")}
        env.update(
            GENNAKER_DATABASE_URL=f"sqlite:///{tmp}/bench.db",
            GENNAKER_PORT=str(port),
            GENNAKER_LOG_LEVEL="warning",
        )
        log = open(f"{tmp}/up.log", "w")
        began = time.monotonic()
        server = subprocess.Popen([GENNAKER, "up"], cwd=tmp, env=env, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            while True:
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() - began > 30:
                    raise SystemExit(f"gennaker up did not start:\n{Path(tmp, 'up.log').read_text()}")
                time.sleep(0.02)
            print(f"gennaker up answered /health after {time.monotonic() - began:.2f}s")
            asyncio.run(run(args, base))
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()


if __name__ == "__main__":
    main()
