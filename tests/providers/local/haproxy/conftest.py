"""Fixtures for the HAProxy manager: a real HAProxy on 127.0.0.1, real HTTP backends in threads.

HAProxy comes from the Debian package `haproxy` (`make system-deps`). Where it is absent the tests
skip on a laptop and fail under CI=true, as the PostgreSQL tests do.
"""

from __future__ import annotations

import http.client
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from gennaker.providers.local.haproxy import HAProxyError, HAProxyManager, HAProxyNotInstalled
from gennaker.providers.local.haproxy.process import find_binary
from tests.conftest import IN_CI


def haproxy_problem() -> str | None:
    """Why the tests cannot run HAProxy here (None when they can)."""
    try:
        find_binary(None)
    except HAProxyNotInstalled as exc:
        return str(exc)
    return None


def require_haproxy() -> None:
    """Skip (laptop) or fail (CI) when HAProxy is absent."""
    problem = haproxy_problem()
    if problem is None:
        return
    if IN_CI:
        pytest.fail(problem + " (CI=true: HAProxy tests must run)")
    pytest.skip(problem)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Handler(BaseHTTPRequestHandler):
    server: Backend  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/health":
            code = 200 if self.server.healthy else 503
            body = b"ok" if self.server.healthy else b"sick"
        else:
            self.server.served += 1
            delay = float(parse_qs(url.query).get("sleep", ["0"])[0])
            if delay:
                time.sleep(delay)
            code, body = 200, self.server.name.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Backend(ThreadingHTTPServer):
    """An HTTP server answering its name (GET /?sleep=S waits S seconds) and /health."""

    daemon_threads = True

    def __init__(self, name: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.name = name
        self.port: int = self.server_address[1]
        self.healthy = True
        self.served = 0
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # HAProxy's checks close connections early; that is not an error here

    def close(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.fixture
def backends() -> Iterator[list[Backend]]:
    """Three backends named b0, b1, b2."""
    servers = [Backend(f"b{i}") for i in range(3)]
    yield servers
    for server in servers:
        server.close()


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A short directory (unix socket paths are limited to about 100 characters)."""
    path = Path(tempfile.mkdtemp(prefix="ghx-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def manager(data_dir: Path) -> Iterator[HAProxyManager]:
    """A manager for account `test` whose HAProxy is stopped afterwards."""
    require_haproxy()
    mgr = HAProxyManager(account="test", data_dir=data_dir)
    yield mgr
    try:
        mgr.stop()
    except HAProxyError:
        pass


def get(port: int, path: str = "/", timeout: float = 5.0) -> tuple[int, str]:
    """One GET through a fresh connection: (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def wait_until(predicate: object, timeout: float = 10.0, what: str = "condition") -> None:
    """Poll `predicate` (a callable) until true; fail the test naming `what` when it never is."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def wait_up(manager: HAProxyManager, frontend: str, servers: set[str], timeout: float = 15.0) -> None:
    """Wait until HAProxy counts each named server of `frontend` UP (its checks passed)."""

    def up() -> bool:
        ok = {s.server for s in manager.status() if s.frontend == frontend and s.status == "UP"}
        return servers <= ok

    wait_until(up, timeout=timeout, what=f"{sorted(servers)} of {frontend} to be UP")


@dataclass
class SteadyClient:
    """Sends GETs through the load balancer, reusing keep-alive connections, until stopped or
    `max_requests` were sent; every failure (refused, reset, 5xx) is recorded."""

    port: int
    max_requests: int = 20000
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    answered_by: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> SteadyClient:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=30)

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self._stop.is_set() and self.sent < self.max_requests:
            self.sent += 1
            try:
                conn.request("GET", "/")
                response = conn.getresponse()
                body = response.read().decode()
                if response.status >= 500:
                    self.failures.append(f"{response.status} {body[:80]!r}")
                else:
                    self.answered_by[body] = self.answered_by.get(body, 0) + 1
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                self.failures.append(repr(exc))
                conn.close()
        conn.close()
