"""A small HTTP service for trying Gennaker's local provider (standard library only).

GET /health answers 200 "ok"; any other path answers the version (the VERSION variable) and the
instance that served it. It listens on 127.0.0.1:$PORT and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = os.environ.get("VERSION", "0")
INSTANCE = os.environ.get("GENNAKER_INSTANCE_ID", "unknown")


class Handler(BaseHTTPRequestHandler):
    """Answers /health and everything else."""

    def do_GET(self) -> None:
        """Health or version."""
        if self.path == "/health":
            body = b"ok\n"
            kind = "text/plain"
        else:
            body = (json.dumps({"version": VERSION, "instance": INSTANCE}) + "\n").encode()
            kind = "application/json"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """One line per request on stdout."""
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
