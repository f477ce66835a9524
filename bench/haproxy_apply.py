"""HAProxy manager benchmark: what one apply() costs for 50 servers, at runtime and by reload.

Scenarios, each repeated and timed around HAProxyManager.apply() only:
  start          HAProxy not running -> running with one load balancer of 50 servers
  add-runtime    a running load balancer of 0 servers gets 50 (runtime API, no reload)
  weight-runtime 50 servers change weight (runtime API)
  drain-runtime  50 servers go to drain (runtime API)
  reload         the health check path changes with 50 servers in place (seamless reload)
  remove-runtime 50 idle servers are removed (runtime API)
  noop           the same spec again (idempotent apply)

The 50 servers are real HTTP servers (threads) on 127.0.0.1; HAProxy is the real one on PATH.

    .venv/bin/python bench/haproxy_apply.py [--servers 50] [--rounds 5]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from gennaker.providers.local.haproxy import FrontendSpec, HAProxyManager, HealthCheckSpec, ServerSpec


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # HAProxy's checks close connections early


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    backends = [_Server(("127.0.0.1", 0), _Ok) for _ in range(args.servers)]
    for server in backends:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    port = _free_port()

    def lb(path: str = "/health", **server: object) -> list[FrontendSpec]:
        servers = tuple(
            ServerSpec(name=f"i-{i}", address="127.0.0.1", port=b.server_address[1], **server)  # type: ignore[arg-type]
            for i, b in enumerate(backends)
        )
        return [
            FrontendSpec(name="bench", port=port, health_check=HealthCheckSpec(path=path), servers=servers)
        ]

    empty = [FrontendSpec(name="bench", port=port, health_check=HealthCheckSpec(path="/health"))]
    results: dict[str, list[float]] = {}

    def timed(
        name: str, manager: HAProxyManager, spec: list[FrontendSpec], before: Callable[[], None]
    ) -> None:
        before()
        start = time.perf_counter()
        manager.apply(spec)
        results.setdefault(name, []).append(time.perf_counter() - start)

    for _ in range(args.rounds):
        data_dir = Path(tempfile.mkdtemp(prefix="ghb-", dir="/tmp"))
        manager = HAProxyManager(account="bench", data_dir=data_dir)
        try:
            timed("start", manager, lb(), lambda: None)
            timed("noop", manager, lb(), lambda: None)
            timed("add-runtime", manager, lb(), lambda m=manager: m.apply(empty))  # type: ignore[misc]
            timed("weight-runtime", manager, lb(weight=50), lambda: None)
            timed("drain-runtime", manager, lb(weight=50, state="drain"), lambda: None)
            worker = manager.worker_pid()
            timed("reload", manager, lb(path="/ready", weight=50, state="drain"), lambda: None)
            assert manager.worker_pid() != worker
            timed(
                "remove-runtime",
                manager,
                [FrontendSpec(name="bench", port=port, health_check=HealthCheckSpec(path="/ready"))],
                lambda: None,
            )
        finally:
            manager.stop()
            shutil.rmtree(data_dir, ignore_errors=True)

    print(f"apply() with {args.servers} servers, {args.rounds} rounds (milliseconds)")
    print(f"{'scenario':<16}{'median':>10}{'min':>10}{'max':>10}")
    for name, times in results.items():
        ms = [t * 1000 for t in times]
        print(f"{name:<16}{statistics.median(ms):>10.1f}{min(ms):>10.1f}{max(ms):>10.1f}")
    for server in backends:
        server.shutdown()


if __name__ == "__main__":
    main()
