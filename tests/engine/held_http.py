"""A real HTTP server on 127.0.0.1 that holds each request until the test lets it go.

``arrived`` is set when a request comes in; the server answers only after ``release`` is set, so a
test can act while a call is in flight (cancel, kill the process) without guessing with sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HeldServer:
    """Counts requests; holds each one until ``release`` is set (at most ``hold_s``)."""

    def __init__(self, hold_s: float = 30.0) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.hold_s = hold_s
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.port = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _handler(server: HeldServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            server.requests.append((self.command, self.path, dict(self.headers.items())))
            server.arrived.set()
            server.release.wait(server.hold_s)
            body = b'{"ok": true}'
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up (timed out, was killed) while we held the request

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def holding(hold_s: float = 30.0) -> Iterator[HeldServer]:
    """Serve a HeldServer on a free port for the block."""
    held = HeldServer(hold_s)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(held))
    httpd.daemon_threads = True
    held.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield held
    finally:
        held.release.set()
        httpd.shutdown()
        httpd.server_close()
