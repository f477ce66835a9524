"""The load generator against real HTTP servers on 127.0.0.1: answers, versions, refused
connections and 5xx are each recorded as what they are."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gennaker.testing.load import LoadFailure, LoadGenerator, generate_load


class _Server:
    """A real HTTP server whose answer (version or status) a test can change while it runs."""

    def __init__(self) -> None:
        self.version = "1"
        self.status = 200
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps({"version": owner.version, "instance": f"i-{owner.version}"}).encode()
                self.send_response(owner.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    running = _Server()
    yield running
    running.close()


def test_records_each_version_that_answered_and_when(server: _Server) -> None:
    with generate_load(f"http://127.0.0.1:{server.port}/", rate=100) as load:
        load.wait_for(lambda answers: len(answers) >= 20)
        server.version = "2"
        load.wait_for_only("2", count=10)
        switched = load.first_answer_from("2")
    load.assert_no_failures(minimum=30)
    assert load.versions() == {"1", "2"}
    assert load.instances() == {"i-1", "i-2"}
    assert switched is not None
    last_one = load.last_answer_from("1")
    assert last_one is not None and last_one.started <= switched.finished
    assert load.versions(since=switched.finished + 1e-6) <= {"1", "2"}
    assert load.answered_by("1", after=last_one.started + 1e-6) == []
    summary = load.summary()
    assert summary["failed"] == 0 and summary["versions"]["1"] >= 20 and summary["versions"]["2"] >= 10


def test_5xx_and_refused_connections_are_failures(server: _Server) -> None:
    load = LoadGenerator(f"http://127.0.0.1:{server.port}/", rate=100).start()
    try:
        load.wait_for(lambda answers: len(answers) >= 5)
        server.status = 503
        load.wait_for(lambda answers: any(a.status == 503 for a in answers))
        server.close()
        load.wait_for(lambda answers: any(a.status is None for a in answers))
    finally:
        load.stop()
    refused = [a for a in load.failures if a.status is None]
    assert refused and all(a.error for a in refused)
    assert any(a.status == 503 and a.version is None for a in load.failures)
    with pytest.raises(LoadFailure, match="requests to http://127.0.0.1"):
        load.assert_no_failures()


def test_keep_alive_reuses_connections(server: _Server) -> None:
    with generate_load(f"http://127.0.0.1:{server.port}/x", rate=100, keep_alive=True) as load:
        load.wait_for(lambda answers: len(answers) >= 20)
    load.assert_no_failures(minimum=20)
    assert load.versions() == {"1"}


def test_too_few_requests_is_a_failure(server: _Server) -> None:
    load = LoadGenerator(f"http://127.0.0.1:{server.port}/")
    with pytest.raises(LoadFailure, match="only 0 requests"):
        load.assert_no_failures()


def test_refuses_urls_off_this_machine() -> None:
    with pytest.raises(ValueError, match="not on 127.0.0.1"):
        LoadGenerator("http://example.com/")
    with pytest.raises(ValueError, match="not an http:// URL"):
        LoadGenerator("ftp://127.0.0.1/")


def test_a_closed_port_fails_every_request() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with generate_load(f"http://127.0.0.1:{port}/", rate=100) as load:
        load.wait_for(lambda answers: len(answers) >= 5)
    assert load.answers and all(a.failed for a in load.answers)
    assert load.versions() == set()
