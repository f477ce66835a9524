"""OPA policies over the Data API contract.

No OPA binary can be installed on this machine (it is neither a Debian nor a PyPI package here),
so these tests run a real HTTP server on 127.0.0.1 that answers OPA's documented Data API:
``POST /v1/data/<path>`` with ``{"input": ...}`` answered by ``{"result": ...}``, and ``{}`` when
the document is undefined. The server decides from the input it receives, so the tests also check
what Gennaker sends."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from gennaker.api import create_app
from gennaker.services import Services
from gennaker.testing import make_services
from tests.api.conftest import create_application
from tests.api.live import SyncClient
from tests.engine.fakes import EngineTestPlugin


class FakeOpa:
    """OPA's Data API, with policies written as Python functions of the input."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Any]] = []
        policies: dict[str, Callable[[Any], Any]] = {
            "/v1/data/gennaker/webhooks/allow": lambda doc: all(
                s["context"].get("url", "").startswith("https://")
                for s in doc["stages"]
                if s["type"] == "webhook"
            ),
            "/v1/data/gennaker/deny": lambda doc: [
                f"stage {s['refId']} deploys to prod" for s in doc["stages"] if "prod" in s["accounts"]
            ],
            "/v1/data/gennaker/object": lambda doc: {
                "allow": doc["user"] != "mallory",
                "reasons": ["mallory may not"],
            },
        }
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.received.append((self.path, body))
                decide = policies.get(self.path)
                answer = {} if decide is None else {"result": decide(body["input"])}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def opa() -> Iterator[FakeOpa]:
    server = FakeOpa()
    yield server
    server.close()


def _services(sqlite_url: str, url: str, path: str, **opa: Any) -> tuple[Services, SyncClient]:
    rule = {
        "name": "opa-rule",
        "engine": "opa",
        "path": path,
        "scopes": ["save"],
        "message": "refused by OPA",
    }
    services = make_services(
        sqlite_url, plugins=(EngineTestPlugin(),), policies={"rules": [rule], "opa": {"url": url, **opa}}
    )
    client = SyncClient(create_app(services))
    create_application(client)
    return services, client


def _pipeline(*stages: dict[str, Any]) -> dict[str, Any]:
    return {"application": "shop", "name": "p", "stages": list(stages)}


HOOK = {"refId": "1", "type": "webhook", "name": "Tell", "url": "http://ci.example.com/x"}


def test_a_boolean_result_decides_and_the_input_is_sent(opa: FakeOpa, sqlite_url: str) -> None:
    services, client = _services(sqlite_url, opa.url, "gennaker/webhooks/allow")
    try:
        refused = client.post("/pipelines", json=_pipeline(HOOK))
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["message"] == "denied by policy opa-rule: refused by OPA"
        path, body = opa.received[-1]
        assert path == "/v1/data/gennaker/webhooks/allow"
        assert body["input"]["scope"] == "save" and body["input"]["stages"][0]["type"] == "webhook"
        assert (
            client.post("/pipelines", json=_pipeline({**HOOK, "url": "https://ci.example.com/x"})).status_code
            == 200
        )
    finally:
        client.close()
        services.close()


def test_list_and_object_results_give_their_reasons(opa: FakeOpa, sqlite_url: str) -> None:
    services, client = _services(sqlite_url, opa.url, "gennaker/deny")
    try:
        stage = {"refId": "1", "type": "noop", "name": "Go", "account": "prod"}
        refused = client.post("/pipelines", json=_pipeline(stage))
        assert refused.json()["errors"][0]["message"] == (
            "denied by policy opa-rule: refused by OPA; stage 1 deploys to prod"
        )
        assert client.post("/pipelines", json=_pipeline({**stage, "account": "test"})).status_code == 200
    finally:
        client.close()
        services.close()
    services, client = _services(sqlite_url, opa.url, "gennaker/object")
    try:
        dry = client.post("/policies/evaluate", json={"scope": "save", "input": {"user": "mallory"}}).json()
        assert dry["allowed"] is False and dry["verdicts"][0]["message"] == "refused by OPA; mallory may not"
    finally:
        client.close()
        services.close()


def test_an_undefined_result_or_an_unreachable_server_follows_the_failure_mode(
    opa: FakeOpa, sqlite_url: str
) -> None:
    services, client = _services(sqlite_url, opa.url, "gennaker/missing")
    try:
        refused = client.post("/pipelines", json=_pipeline(HOOK))
        assert (
            refused.status_code == 400
            and "is undefined on the policy server" in refused.json()["errors"][0]["message"]
        )
    finally:
        client.close()
        services.close()
    opa.close()
    services, client = _services(sqlite_url, opa.url, "gennaker/webhooks/allow")
    try:
        refused = client.post("/pipelines", json=_pipeline(HOOK))
        assert "was unreachable" in refused.json()["errors"][0]["message"]
    finally:
        client.close()
        services.close()
    services, client = _services(sqlite_url, opa.url, "gennaker/webhooks/allow", failure_mode="allow")
    try:
        assert client.post("/pipelines", json=_pipeline(HOOK)).status_code == 200
    finally:
        client.close()
        services.close()
