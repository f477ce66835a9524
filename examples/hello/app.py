"""A small HTTP service for trying Gennaker's local provider (standard library only).

GET /health answers 200 "ok" (503 "unhealthy" when HEALTHY=false, to try a bad version: its health
check never passes); any other path answers the version (the VERSION variable) and the instance
that served it. It listens on 127.0.0.1:$PORT and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = os.environ.get("VERSION", "0")
INSTANCE = os.environ.get("GENNAKER_INSTANCE_ID", "unknown")
HEALTHY = os.environ.get("HEALTHY", "true").strip().lower() not in ("false", "0", "no")


class Handler(BaseHTTPRequestHandler):
    """Answers /health and everything else."""

    def do_GET(self) -> None:
        """Health or version."""
        status = 200
        if self.path == "/health":
            body = b"ok\n" if HEALTHY else b"unhealthy\n"
            status = 200 if HEALTHY else 503
            kind = "text/plain"
        else:
            body = (json.dumps({"version": VERSION, "instance": INSTANCE}) + "\n").encode()
            kind = "application/json"
        self.send_response(status)
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
