"""A real Prometheus (Debian's ``prometheus``) on 127.0.0.1 with its own config and storage, scraping
a real target the test runs: an HTTP exporter of request latency and error counters for three
server groups (a baseline, a good canary, a bad one that is slower and answers 5xx)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest

BINARY = shutil.which("prometheus")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
#: (group, mean latency seconds, 5xx per scrape)
GROUPS = (("shop-base", 0.100, 1), ("shop-good", 0.100, 1), ("shop-bad", 0.300, 20))


def require_prometheus() -> str:
    """The prometheus binary; skip (laptop) or fail (CI) when it is not installed."""
    if BINARY is None:
        reason = "prometheus is not installed (make system-deps installs Debian's prometheus)"
        if IN_CI:
            pytest.fail(reason + " (CI=true: Prometheus tests must run)")
        pytest.skip(reason)
    return BINARY


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Exporter:
    """Prometheus text format; every scrape draws new latencies and adds to the error counters."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(17)
        self.errors = {group: 0 for group, _, _ in GROUPS}
        self.lock = threading.Lock()

    def render(self) -> bytes:
        with self.lock:
            lines = ["# TYPE request_latency_seconds gauge", "# TYPE http_requests_total counter"]
            for group, latency, errors in GROUPS:
                for pod in ("a", "b"):
                    value = max(0.001, self.rng.normal(latency, 0.01))
                    lines.append(f'request_latency_seconds{{group="{group}",pod="{pod}"}} {value:.6f}')
                self.errors[group] += errors
                lines.append(f'http_requests_total{{group="{group}",code="500"}} {self.errors[group]}')
            return ("\n".join(lines) + "\n").encode()


@contextmanager
def exporter() -> Iterator[str]:
    """The exporter on a free port; yields its host:port."""
    source = Exporter()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = source.render()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Prometheus:
    """A Prometheus process scraping ``target`` every second."""

    def __init__(self, workdir: Path, target: str, *, port: int | None = None, extra_jobs: str = "") -> None:
        binary = require_prometheus()
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"scrape_configs:\n  - job_name: shop\n    static_configs:\n      - targets: ['{target}']\n"
            + extra_jobs
        )
        self._log = (workdir / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"prometheus did not start: {(workdir / 'prometheus.log').read_text()[-2000:]}"
                )
            time.sleep(0.1)

    def wait_for_samples(self, count: int, timeout_s: float = 40) -> None:
        """Until every group has ``count`` latency samples (real scrapes take real seconds)."""
        query = 'min(count_over_time(request_latency_seconds{pod="a"}[5m]))'
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            result = httpx.get(f"{self.url}/api/v1/query", params={"query": query}, timeout=5).json()
            found = result["data"]["result"]
            if found and float(found[0]["value"][1]) >= count:
                return
            time.sleep(0.25)
        raise AssertionError(f"Prometheus did not collect {count} samples in {timeout_s} s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
