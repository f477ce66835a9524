"""Gate's expression debugging endpoints: evaluateExpression at execution and stage scope (GET with
a query, POST with text or JSON) and evaluateVariables."""

from __future__ import annotations

import http.server
import threading
from typing import Any

import httpx

from gennaker.api.routes.expressions import EVALUATIONS_AT_ONCE
from gennaker.services import Services
from gennaker.testing import make_services, run_until_idle
from tests.api.live import LiveServer, SyncClient
from tests.engine.fakes import EngineTestPlugin


def _finished_execution(services: Services) -> str:
    config = {
        "application": "shop",
        "name": "exprs",
        "id": "cfg-exprs",
        "stages": [
            {"refId": "1", "type": "scripted", "name": "Build", "outputs": {"image": "api:7"}},
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "type": "scripted",
                "name": "Deploy",
                "region": "eu",
            },
        ],
    }
    execution = services.launcher.start_pipeline(
        config, {"type": "manual", "user": "ann", "parameters": {"env": "prod"}}
    )
    run_until_idle(services)
    return execution.id


def test_evaluate_expression_at_execution_scope(services: Services, client: SyncClient) -> None:
    execution_id = _finished_execution(services)
    response = client.get(
        f"/pipelines/{execution_id}/evaluateExpression",
        params={"expression": "${trigger.user}-${parameters.env}-${#stage('Build')['outputs']['image']}"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"result": "ann-prod-api:7", "detail": None}


def test_evaluate_expression_failure_is_reported_in_detail(services: Services, client: SyncClient) -> None:
    execution_id = _finished_execution(services)
    response = client.post(
        f"/pipelines/{execution_id}/evaluateExpression",
        content="${#stage('Nope')}",
        headers={"content-type": "text/plain"},
    )
    body = response.json()
    assert response.status_code == 200
    assert body["result"] == "${#stage('Nope')}"
    assert body["detail"]["#stage('Nope')"][0]["level"] == "ERROR"


def test_evaluate_expression_at_stage_scope_sees_context_and_ancestor_outputs(
    services: Services, client: SyncClient
) -> None:
    execution_id = _finished_execution(services)
    stage_id = client.get(f"/pipelines/{execution_id}").json()["stages"][1]["id"]
    response = client.post(
        f"/pipelines/{execution_id}/{stage_id}/evaluateExpression",
        json={"expression": "${region}:${image}"},
    )
    assert response.json() == {"result": "eu:api:7", "detail": None}


def test_evaluate_variables_v4_sequential(services: Services, client: SyncClient) -> None:
    execution_id = _finished_execution(services)
    response = client.post(
        f"/pipelines/{execution_id}/evaluateVariables",
        params={"requisiteStageRefIds": "1", "spelVersion": "v4"},
        json=[{"key": "a", "value": "${image}"}, {"key": "b", "value": "${a + '-x'}"}],
    )
    assert response.status_code == 200, response.text
    result = {v["key"]: v["value"] for v in response.json()["result"]}
    assert result == {"a": "api:7", "b": "api:7-x"}


def test_unknown_execution_and_missing_expression(services: Services, client: SyncClient) -> None:
    assert client.get("/pipelines/nope/evaluateExpression", params={"expression": "${1}"}).status_code == 404
    execution_id = _finished_execution(services)
    response = client.get(f"/pipelines/{execution_id}/evaluateExpression")
    assert response.status_code == 400
    assert "expression" in response.json()["message"]


class _Stalled:
    """A real HTTP server on 127.0.0.1 that holds every request until ``release`` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.arrived = threading.Semaphore(0)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.arrived.release()
                outer.release.wait(60)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/slow"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Stalled:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_slow_evaluations_do_not_hold_up_the_rest_of_the_api(sqlite_url: str) -> None:
    """Item 3 of issue #10: evaluations ran on the event loop, so six slow ones answered one after
    another and /health waited for all of them. Here six evaluations wait on a stalled URL (the
    server holds them until released) while /health is asked: it answers first, then all six
    complete, at most EVALUATIONS_AT_ONCE of them having been under way at once."""
    services = make_services(
        sqlite_url,
        plugins=(EngineTestPlugin(),),
        outbound__allow="127.0.0.1",
        expressions__max_seconds=60,
    )
    execution_id = _finished_execution(services)
    results: list[dict[str, Any]] = []
    with (
        _Stalled() as stalled,
        LiveServer(services) as live,
        httpx.Client(base_url=live.url, timeout=60) as client,
    ):
        url = f"/pipelines/{execution_id}/evaluateExpression"
        text = f"${{#fromUrl('{stalled.url}')}}"
        senders = [
            threading.Thread(
                target=lambda: results.append(client.get(url, params={"expression": text}).json())
            )
            for _ in range(6)
        ]
        for sender in senders:
            sender.start()
        for _ in range(EVALUATIONS_AT_ONCE):
            assert stalled.arrived.acquire(timeout=30), "the evaluations did not run side by side"
        health = client.get("/health", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "UP"
        assert results == []
        assert not stalled.arrived.acquire(timeout=0.2)  # the other two wait for a place
        stalled.release.set()
        for sender in senders:
            sender.join(60)
    services.close()
    assert results == [{"result": "ok", "detail": None}] * 6


def _two_output_stages(services: Services) -> str:
    """ExpressionUtilsSpec.createExecution: stage 1 outputs varFromStage1=100, stage 2
    varFromStage2=200."""
    config = {
        "application": "shop",
        "name": "vars",
        "id": "cfg-vars",
        "stages": [
            {"refId": "1", "type": "scripted", "name": "one", "outputs": {"varFromStage1": 100}},
            {"refId": "2", "type": "scripted", "name": "two", "outputs": {"varFromStage2": 200}},
        ],
    }
    execution = services.launcher.start_pipeline(config, {"type": "manual"})
    run_until_idle(services)
    return execution.id


def test_evaluate_variables_as_orcas_expression_utils_v4(services: Services, client: SyncClient) -> None:
    """ExpressionUtilsSpec "should evaluate variables correctly with v4" and "should correctly use
    refIds": sourceValue kept with ``${`` written ``{``, descriptions evaluated, null when absent."""
    execution_id = _two_output_stages(services)
    variables = [
        {"key": "var1", "value": "${varFromStage1}", "description": "nothing here"},
        {"key": "var2", "value": "${varFromStage2}", "description": "should be ${varFromStage2}"},
        {"key": "sum", "value": "${var1 + var2}"},
    ]
    url = f"/pipelines/{execution_id}/evaluateVariables"
    both = client.post(
        url, params={"requisiteStageRefIds": "1,2", "spelVersion": "v4"}, json=variables
    ).json()
    assert both["result"] == [
        {"key": "var1", "value": 100, "sourceValue": "{varFromStage1}", "description": "nothing here"},
        {"key": "var2", "value": 200, "sourceValue": "{varFromStage2}", "description": "should be 200"},
        {"key": "sum", "value": 300, "sourceValue": "{var1 + var2}", "description": None},
    ]
    assert both["detail"] is None
    plain = [{"key": v["key"], "value": v["value"]} for v in variables]
    one = client.post(url, params={"requisiteStageRefIds": "1", "spelVersion": "v4"}, json=plain).json()
    assert one["result"] == [
        {"key": "var1", "value": 100, "sourceValue": "{varFromStage1}", "description": None},
        {"key": "var2", "value": "${varFromStage2}", "sourceValue": "{varFromStage2}", "description": None},
        {"key": "sum", "value": "${var1 + var2}", "sourceValue": "{var1 + var2}", "description": None},
    ]
    assert set(one["detail"]) == {"varFromStage2", "var1 + var2"}


def test_evaluate_variables_as_orcas_expression_utils_v3(services: Services, client: SyncClient) -> None:
    """ExpressionUtilsSpec "should fail to evaluate variables that depend on prior variables in
    same stage when in v3"."""
    execution_id = _two_output_stages(services)
    plain = [
        {"key": "var1", "value": "${varFromStage1}"},
        {"key": "var2", "value": "${varFromStage2}"},
        {"key": "sum", "value": "${var1 + var2}"},
    ]
    url = f"/pipelines/{execution_id}/evaluateVariables"
    answer = client.post(url, params={"requisiteStageRefIds": "1,2", "spelVersion": "v3"}, json=plain).json()
    assert answer["result"] == [
        {"key": "var1", "value": 100},
        {"key": "var2", "value": 200},
        {"key": "sum", "value": "${var1 + var2}"},
    ]
    assert set(answer["detail"]) == {"var1 + var2"}
