"""A small HTTP service for trying Gennaker's local provider (standard library only).

GET /health answers 200 "ok" (503 "unhealthy" when HEALTHY=false, to try a version whose
health check never passes); GET /metrics answers Prometheus metrics; any other path answers the
version (the VERSION variable) and the instance that served it. It listens on 127.0.0.1:$PORT and
stops cleanly on SIGTERM.

To show a bad version (and a canary analysis failing it), two switches make it misbehave on
ordinary requests (never on /health or /metrics, so that it stays in rotation):

- ``FAIL_PERCENT``: this share of requests (0-100) answers 500;
- ``DELAY_MS``: every request waits this long first (``DELAY_MS=200``), or a share of them when
  ``DELAY_PERCENT`` is set too.

The metrics carry the version and the server group, so a canary config can compare the baseline's
and the canary's: ``hello_requests_total{code}`` (a counter) and
``hello_request_duration_seconds`` (a histogram).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = os.environ.get("VERSION", "0")
INSTANCE = os.environ.get("GENNAKER_INSTANCE_ID", "unknown")
SERVER_GROUP = os.environ.get("GENNAKER_SERVER_GROUP", "unknown")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _percent(name: str) -> float:
    raw = os.environ.get(name, "") or "0"
    try:
        value = float(raw)
    except ValueError:
        sys.exit(f"{name} must be a percentage 0-100, got {raw!r}")
    if not 0 <= value <= 100:
        sys.exit(f"{name} must be a percentage 0-100, got {raw!r}")
    return value


FAIL_PERCENT = _percent("FAIL_PERCENT")
DELAY_PERCENT = _percent("DELAY_PERCENT") if os.environ.get("DELAY_PERCENT") else 100.0
DELAY_SECONDS = float(os.environ.get("DELAY_MS", "0") or 0) / 1000


class Metrics:
    """Request counts by status code and a latency histogram, safe across handler threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Both codes from the start: a series that appears only with the first error would leave a
        # good version without any, which a canary judges as missing data rather than as none.
        self.codes: dict[int, int] = {200: 0, 500: 0}
        self.buckets = [0] * len(BUCKETS)
        self.count = 0
        self.total = 0.0

    def observe(self, code: int, seconds: float) -> None:
        """Count one answered request."""
        with self._lock:
            self.codes[code] = self.codes.get(code, 0) + 1
            self.count += 1
            self.total += seconds
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self.buckets[i] += 1

    def render(self) -> str:
        """The text exposition format."""
        labels = f'version="{VERSION}",server_group="{SERVER_GROUP}"'
        with self._lock:
            lines = [
                "# HELP hello_requests_total Requests answered, by status code.",
                "# TYPE hello_requests_total counter",
                *(f'hello_requests_total{{{labels},code="{c}"}} {n}' for c, n in sorted(self.codes.items())),
                "# HELP hello_request_duration_seconds Time to answer a request.",
                "# TYPE hello_request_duration_seconds histogram",
                *(
                    f'hello_request_duration_seconds_bucket{{{labels},le="{b}"}} {n}'
                    for b, n in zip(BUCKETS, self.buckets, strict=True)
                ),
                f'hello_request_duration_seconds_bucket{{{labels},le="+Inf"}} {self.count}',
                f"hello_request_duration_seconds_sum{{{labels}}} {self.total}",
                f"hello_request_duration_seconds_count{{{labels}}} {self.count}",
            ]
        return "\n".join(lines) + "\n"


METRICS = Metrics()
HEALTHY = os.environ.get("HEALTHY", "true").strip().lower() not in ("false", "0", "no")


class Handler(BaseHTTPRequestHandler):
    """Answers /health, /metrics and everything else."""

    def do_GET(self) -> None:
        """Health, metrics, or the version."""
        if self.path == "/health":
            self._answer(200 if HEALTHY else 503, b"ok\n" if HEALTHY else b"unhealthy\n", "text/plain")
            return
        if self.path == "/metrics":
            self._answer(200, METRICS.render().encode(), "text/plain; version=0.0.4")
            return
        started = time.monotonic()
        if DELAY_SECONDS and random.uniform(0, 100) < DELAY_PERCENT:
            time.sleep(DELAY_SECONDS)
        if FAIL_PERCENT and random.uniform(0, 100) < FAIL_PERCENT:
            code, body = 500, (json.dumps({"error": "failing on purpose (FAIL_PERCENT)"}) + "\n").encode()
        else:
            code, body = 200, (json.dumps({"version": VERSION, "instance": INSTANCE}) + "\n").encode()
        self._answer(code, body, "application/json")
        METRICS.observe(code, time.monotonic() - started)

    def _answer(self, code: int, body: bytes, kind: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """One line per request on stdout (not for health checks and scrapes)."""
        if self.path in ("/health", "/metrics"):
            return
        sys.stdout.write(f"{self.address_string()} {format % args}\n")
        sys.stdout.flush()


def main() -> None:
    """Serve until SIGTERM."""
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"hello {VERSION} listening on port {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
