"""A real HTTP server on 127.0.0.1 that plays scripted answers, for webhook stage tests.

``service.on("POST", "/jobs", Reply(201, headers={"Location": "/jobs/1"}))`` queues answers for a
route; they are given in order and the last one repeats. Every request is recorded (with the
frozen clock's time, when one is attached) so tests can check what the stage sent and when.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from gennaker.clock import FrozenClock


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, list[str]]
    body: bytes
    at_ms: int | None

    def json(self) -> Any:
        return json.loads(self.body)


class Service:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.requests: list[Recorded] = []
        self.clock: FrozenClock | None = None
        self.lock = threading.Lock()
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[(method, path)] = list(replies)

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def answer(self, method: str, path: str, headers: dict[str, list[str]], body: bytes) -> Reply:
        with self.lock:
            at = self.clock.now_ms() if self.clock is not None else None
            self.requests.append(Recorded(method, path, headers, body, at))
            replies = self.routes.get((method, path))
            if not replies:
                return Reply(404, {"error": f"no route {method} {path}"})
            return replies.pop(0) if len(replies) > 1 else replies[0]


def _handler(service: Service) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers: dict[str, list[str]] = {}
            for name, value in self.headers.items():
                headers.setdefault(name.lower(), []).append(value)
            reply = service.answer(self.command, self.path, headers, body)
            if reply.delay_s:
                time.sleep(reply.delay_s)
            if isinstance(reply.body, (dict, list)):
                payload, kind = json.dumps(reply.body).encode(), "application/json"
            elif isinstance(reply.body, bytes):
                payload, kind = reply.body, "application/octet-stream"
            else:
                payload, kind = (reply.body or "").encode(), "text/plain"
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextlib.contextmanager
def serving() -> Iterator[Service]:
    """Run a Service on an ephemeral port for the duration of the block."""
    svc = Service()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(svc))
    server.daemon_threads = True
    svc.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield svc
    finally:
        server.shutdown()
        server.server_close()
