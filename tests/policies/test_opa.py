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
from gennaker.testing import make_services, run_until_idle
from tests.api.conftest import create_application
from tests.api.live import SyncClient
from tests.engine.fakes import EngineTestPlugin
from tests.engine.test_cancel_outcome import Worker, wait_for


class FakeOpa:
    """OPA's Data API, with policies written as Python functions of the input."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Any]] = []
        #: Set when a request arrives; requests wait for ``release`` while ``hold`` is set.
        self.arrived = threading.Event()
        self.hold = threading.Event()
        self.release = threading.Event()
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
            # At start: the trigger's user; at stage time: the stage's evaluated context.
            "/v1/data/gennaker/start/allow": lambda doc: {
                "allow": doc["trigger"]["user"] != "mallory",
                "reasons": [f"{doc['trigger']['user']} may not start {doc['pipeline']['name']}"],
            },
            "/v1/data/gennaker/stage/deny": lambda doc: [
                f"stage {doc['stage']['refId']} deploys to prod without a judgment"
                for _ in [1]
                if "prod" in doc["stage"]["accounts"]
                and not any(a["type"] == "manualJudgment" for a in doc["ancestors"])
            ],
        }
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.received.append((self.path, body))
                outer.arrived.set()
                if outer.hold.is_set():
                    outer.release.wait(60)
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


def _services(
    sqlite_url: str, url: str, path: str, scopes: tuple[str, ...] = ("save",), **opa: Any
) -> tuple[Services, SyncClient]:
    rule = {
        "name": "opa-rule",
        "engine": "opa",
        "path": path,
        "scopes": list(scopes),
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


# -- start and stage scopes: asked between two transactions (engine/policy_questions.py) ----------

DEPLOY = {
    "refId": "2",
    "type": "scripted",
    "name": "Deploy",
    "account": "${trigger.parameters.env}",
    "requisiteStageRefIds": ["1"],
}
BUILD = {"refId": "1", "type": "noop", "name": "Build", "requisiteStageRefIds": []}


def _run(client: SyncClient, services: Services, name: str, **trigger: Any) -> dict[str, Any]:
    started = client.post(f"/pipelines/shop/{name}", json={"type": "manual", **trigger})
    assert started.status_code == 202, started.text
    run_until_idle(services)
    execution: dict[str, Any] = client.get(started.json()["ref"]).json()
    return execution


def test_a_stage_policy_on_opa_sees_the_evaluated_stage_and_refuses_it_before_it_runs(
    opa: FakeOpa, sqlite_url: str
) -> None:
    services, client = _services(sqlite_url, opa.url, "gennaker/stage/deny", scopes=("stage",))
    try:
        client.post(
            "/pipelines",
            json={
                **_pipeline(BUILD, DEPLOY),
                "parameterConfig": [{"name": "env", "default": "test"}],
            },
        )
        refused = _run(client, services, "p", parameters={"env": "prod"})
        by_ref = {s["refId"]: s for s in refused["stages"]}
        assert refused["status"] == "TERMINAL"
        assert by_ref["1"]["status"] == "SUCCEEDED"
        assert by_ref["2"]["status"] == "TERMINAL" and by_ref["2"]["tasks"] == []
        assert "pollCount" not in by_ref["2"]["context"]  # the scripted task never ran
        assert by_ref["2"]["context"]["exception"]["details"]["errors"] == [
            "denied by policy opa-rule: refused by OPA; stage 2 deploys to prod without a judgment"
        ]
        # OPA saw the stage's context after expressions, and the stages upstream of it.
        asked = [body["input"] for path, body in opa.received if body["input"]["stage"]["refId"] == "2"]
        assert asked[-1]["stage"]["context"]["account"] == "prod"
        assert asked[-1]["stage"]["accounts"] == ["prod"] and asked[-1]["stage"]["status"] == "RUNNING"
        assert [a["refId"] for a in asked[-1]["ancestors"]] == ["1"]

        allowed = _run(client, services, "p", parameters={"env": "test"})
        assert allowed["status"] == "SUCCEEDED", allowed
        assert {s["refId"]: s for s in allowed["stages"]}["2"]["context"]["pollCount"] == 1
    finally:
        client.close()
        services.close()


def test_a_start_policy_on_opa_refuses_the_execution_before_any_stage(opa: FakeOpa, sqlite_url: str) -> None:
    services, client = _services(sqlite_url, opa.url, "gennaker/start/allow", scopes=("start",))
    try:
        client.post("/pipelines", json=_pipeline(BUILD))
        refused = _run(client, services, "p", user="mallory")
        assert refused["status"] == "TERMINAL"
        first = refused["stages"][0]
        assert first["status"] == "TERMINAL" and first["tasks"] == []
        assert first["context"]["exception"]["details"]["errors"] == [
            "denied by policy opa-rule: refused by OPA; mallory may not start p"
        ]
        starts = [body["input"] for _, body in opa.received if body["input"]["scope"] == "start"]
        assert starts[-1]["pipeline"]["name"] == "p" and starts[-1]["stages"][0]["refId"] == "1"
        assert _run(client, services, "p", user="alice")["status"] == "SUCCEEDED"
    finally:
        client.close()
        services.close()


def test_an_unreachable_policy_server_at_stage_time_follows_the_failure_mode(
    opa: FakeOpa, sqlite_url: str
) -> None:
    opa.close()
    services, client = _services(sqlite_url, opa.url, "gennaker/stage/deny", scopes=("start", "stage"))
    try:
        client.post("/pipelines", json=_pipeline(BUILD))
        refused = _run(client, services, "p")
        assert refused["status"] == "TERMINAL"
        error = refused["stages"][0]["context"]["exception"]["details"]["errors"][0]
        assert error.startswith("denied by policy opa-rule: refused by OPA (the policy server at")
        assert "was unreachable" in error
    finally:
        client.close()
        services.close()
    services, client = _services(
        sqlite_url, opa.url, "gennaker/stage/deny", scopes=("start", "stage"), failure_mode="allow"
    )
    try:
        client.post("/pipelines", json=_pipeline(BUILD))
        assert _run(client, services, "p")["status"] == "SUCCEEDED"
    finally:
        client.close()
        services.close()


def test_a_slow_policy_server_holds_no_transaction(opa: FakeOpa, sqlite_url: str) -> None:
    """While OPA holds its answer to a stage question, another write to the database completes (on
    SQLite, whose single write lock a question asked inside a transaction would hold); once it
    answers, the execution goes on."""
    services, client = _services(sqlite_url, opa.url, "gennaker/stage/deny", scopes=("stage",))
    try:
        client.post("/pipelines", json=_pipeline(BUILD))
        opa.hold.set()
        with Worker(services):
            started = client.post("/pipelines/shop/p", json={"type": "manual"}).json()
            assert opa.arrived.wait(30), "the policy server was never asked"
            done = threading.Event()

            def write() -> None:
                with services.db.transaction() as conn:
                    services.pipelines.save(
                        conn, {"application": "other", "name": "unrelated", "stages": []}, user="someone"
                    )
                done.set()

            threading.Thread(target=write, daemon=True).start()
            # Generous: the write takes milliseconds unless it waits for the held question (60 s).
            assert done.wait(20), "a write waited for the policy server"
            assert not opa.release.is_set()
            opa.release.set()
            wait_for(
                lambda: client.get(started["ref"]).json()["status"] == "SUCCEEDED", "the execution to end"
            )
    finally:
        opa.release.set()
        client.close()
        services.close()


def test_without_a_policy_server_rule_no_question_is_asked(opa: FakeOpa, sqlite_url: str) -> None:
    """An OPA rule of the save scope only: starts and stages never reach the policy server."""
    services, client = _services(sqlite_url, opa.url, "gennaker/webhooks/allow", scopes=("save",))
    try:
        assert not services.policies.asks_remotely("start")
        assert not services.policies.asks_remotely("stage")
        client.post("/pipelines", json=_pipeline(BUILD))
        saves = len(opa.received)
        assert _run(client, services, "p")["status"] == "SUCCEEDED"
        assert len(opa.received) == saves
    finally:
        client.close()
        services.close()


def test_a_failure_between_the_question_and_its_answer_asks_again_and_starts_the_stage_once(
    opa: FakeOpa, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transaction that applies OPA's answer fails once (as a crash there would roll it back):
    nothing of it is kept, the message is delivered again, OPA is asked again, and the stage then
    starts exactly once."""
    from gennaker.engine import policy_questions

    real = policy_questions.DECIDERS["startStage"]
    failures: list[str] = []

    def flaky(ctx: Any, message: Any, remote: Any) -> Any:
        if remote is not None and not failures:
            failures.append(message.stage_id)
            real(ctx, message, remote)  # its writes are rolled back with the transaction
            raise RuntimeError("the worker died while applying the answer")
        return real(ctx, message, remote)

    monkeypatch.setitem(policy_questions.DECIDERS, "startStage", flaky)
    services, client = _services(sqlite_url, opa.url, "gennaker/stage/deny", scopes=("stage",))
    try:
        client.post(
            "/pipelines",
            json={**_pipeline(BUILD, DEPLOY), "parameterConfig": [{"name": "env", "default": "test"}]},
        )
        done = _run(client, services, "p")
        assert done["status"] == "SUCCEEDED", done
        assert failures, "the answer was never applied"
        first = next(s for s in done["stages"] if s["id"] == failures[0])
        asked = [b["input"]["stage"]["refId"] for _, b in opa.received if b["input"].get("scope") == "stage"]
        assert asked.count(first["refId"]) == 2
        deploy = next(s for s in done["stages"] if s["refId"] == "2")
        assert deploy["context"]["pollCount"] == 1
    finally:
        client.close()
        services.close()


def test_an_opa_policy_without_a_policy_server_configured_refuses_and_says_so() -> None:
    """A policy synced from git may name OPA while gennaker.toml has no [policies.opa] url (those
    in gennaker.toml are refused at start): it refuses, and says why, rather than failing."""
    from gennaker.clock import FrozenClock
    from gennaker.policies.evaluator import PolicyEngine
    from gennaker.policies.settings import PolicyRule, PolicySettings

    engine = PolicyEngine(PolicySettings(), FrozenClock())
    rule = PolicyRule(name="from-git", engine="opa", path="gennaker/x", scopes=("stage",), message="m")
    (verdict,) = engine.evaluate("stage", {"stage": {}}, [rule])
    assert verdict.outcome == "deny" and verdict.message == "m ([policies.opa] url is not set)"
