"""Policies with the built-in CEL engine at save, start and stage time, through the API and the
engine: the documented examples deny and allow what they should; warnings are recorded; a
denied start or stage ends the execution TERMINAL before any task runs."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gennaker.api import create_app
from gennaker.clock import FrozenClock
from gennaker.config import ConfigError, load_settings
from gennaker.policies.settings import policy_settings
from gennaker.services import Services
from gennaker.testing import make_services, run_until_idle
from tests.api.conftest import create_application
from tests.api.live import SyncClient
from tests.engine.fakes import EngineTestPlugin

PROD_AFTER_JUDGMENT_SAVE = {
    "name": "prod-after-judgment",
    "scopes": ["save"],
    "rule": 'input.stages.all(s, !("prod" in s.accounts) || "manualJudgment" in s.ancestorTypes)',
    "message": "a deploy to an account named prod must come after a manualJudgment",
}
PROD_AFTER_JUDGMENT_STAGE = {
    "name": "prod-after-judgment-at-run",
    "scopes": ["stage"],
    "rule": '!("prod" in input.stage.accounts) || '
    'input.ancestors.exists(a, a.type == "manualJudgment" && a.status == "SUCCEEDED")',
    "message": "a deploy to an account named prod must come after a manualJudgment",
}
FRIDAY_AFTERNOON = '(now.getDayOfWeek("UTC") == 5 && now.getHours("UTC") >= 15)'
NO_FRIDAY_AFTERNOONS = {
    "name": "no-friday-afternoon-deploys",
    "scopes": ["start"],
    "rule": f"!input.stages.exists(s, size(s.accounts) > 0) || !{FRIDAY_AFTERNOON}",
    "message": "no deploys on Friday after 15:00 UTC",
}
NO_FRIDAY_AFTERNOON_STAGES = {
    "name": "no-friday-afternoon-deploy-stages",
    "scopes": ["stage"],
    "rule": f"size(input.stage.accounts) == 0 || !{FRIDAY_AFTERNOON}",
    "message": "no deploys on Friday after 15:00 UTC",
}
HTTPS_WEBHOOKS = {
    "name": "https-webhooks",
    "scopes": ["save"],
    "rule": 'input.stages.all(s, s.type != "webhook" || s.context.url.startsWith("https://"))',
    "message": "webhook URLs must be https",
}

THURSDAY_NOON = int(datetime.datetime(2026, 12, 3, 12, tzinfo=datetime.UTC).timestamp() * 1000)
FRIDAY_4PM = int(datetime.datetime(2026, 12, 4, 16, tzinfo=datetime.UTC).timestamp() * 1000)


@pytest.fixture
def make(database_url: str) -> Iterator[Callable[..., tuple[Services, SyncClient]]]:
    made: list[tuple[Services, SyncClient]] = []

    def factory(*rules: dict[str, Any], now_ms: int = THURSDAY_NOON) -> tuple[Services, SyncClient]:
        services = make_services(
            database_url,
            clock=FrozenClock(now_ms),
            plugins=(EngineTestPlugin(),),
            policies={"rules": list(rules)},
        )
        client = SyncClient(create_app(services))
        create_application(client)
        made.append((services, client))
        return services, client

    yield factory
    for services, client in made:
        client.close()
        services.close()


def _pipeline(*stages: dict[str, Any], name: str = "deploy") -> dict[str, Any]:
    return {"application": "shop", "name": name, "stages": list(stages)}


DEPLOY_PROD = {
    "refId": "2",
    "type": "scripted",
    "name": "Deploy",
    "account": "prod",
    "requisiteStageRefIds": ["1"],
}
JUDGE = {"refId": "1", "type": "manualJudgment", "name": "Approve", "requisiteStageRefIds": []}
BUILD = {"refId": "1", "type": "noop", "name": "Build", "requisiteStageRefIds": []}


def _run(client: SyncClient, services: Services, name: str = "deploy", judge: bool = False) -> dict[str, Any]:
    started = client.post(f"/pipelines/shop/{name}", json={"type": "manual"})
    assert started.status_code == 202, started.text
    # Without moving the clock: a judgment waits for its judge, and tasks are not timed out.
    run_until_idle(services, advance_clock=not judge)
    execution: dict[str, Any] = client.get(started.json()["ref"]).json()
    if judge:
        stage = next(s for s in execution["stages"] if s["type"] == "manualJudgment")
        client.patch(
            f"/pipelines/{execution['id']}/stages/{stage['id']}", json={"judgmentStatus": "continue"}
        )
        run_until_idle(services)
        execution = client.get(started.json()["ref"]).json()
    return execution


def test_save_policies_deny_with_every_message_and_allow_what_complies(make: Any) -> None:
    _, client = make(PROD_AFTER_JUDGMENT_SAVE, HTTPS_WEBHOOKS)
    hook = {
        "refId": "3",
        "type": "webhook",
        "name": "Tell",
        "url": "http://ci.example.com/x",
        "requisiteStageRefIds": [],
    }
    refused = client.post("/pipelines", json=_pipeline(BUILD, DEPLOY_PROD, hook))
    assert refused.status_code == 400
    messages = [e["message"] for e in refused.json()["errors"]]
    assert messages == [
        "denied by policy prod-after-judgment: a deploy to an account named prod must come after a manualJudgment",
        "denied by policy https-webhooks: webhook URLs must be https",
    ]
    assert client.get("/applications/shop/pipelineConfigs").json() == []
    assert client.post("/pipelines/validate", json=_pipeline(BUILD, DEPLOY_PROD)).status_code == 400
    allowed = client.post(
        "/pipelines", json=_pipeline(JUDGE, DEPLOY_PROD, {**hook, "url": "https://ci.example.com/x"})
    )
    assert allowed.status_code == 200, allowed.text
    # The same policies judge saves sent as Gate tasks, as Deck sends them.
    task = client.post(
        "/tasks",
        json={
            "application": "shop",
            "description": "save",
            "job": [{"type": "savePipeline", "pipeline": _pipeline(BUILD, DEPLOY_PROD, name="other")}],
        },
    )
    assert client.get(task.json()["ref"]).json()["status"] == "TERMINAL"
    assert client.get("/applications/shop/pipelineConfigs/other").status_code == 404


def test_a_stage_policy_stops_the_stage_before_it_runs_and_allows_it_after_a_judgment(make: Any) -> None:
    services, client = make(PROD_AFTER_JUDGMENT_STAGE)
    client.post("/pipelines", json=_pipeline(BUILD, DEPLOY_PROD))
    execution = _run(client, services)
    assert execution["status"] == "TERMINAL"
    deploy = next(s for s in execution["stages"] if s["refId"] == "2")
    assert deploy["status"] == "TERMINAL"
    assert deploy["tasks"] == [] and "pollCount" not in deploy["context"]
    assert deploy["context"]["exception"]["details"]["errors"] == [
        "denied by policy prod-after-judgment-at-run: a deploy to an account named prod must come after a manualJudgment"
    ]
    # failPipeline: false does not soften a refusal.
    client.post("/pipelines", json=_pipeline(BUILD, {**DEPLOY_PROD, "failPipeline": False}, name="soft"))
    assert _run(client, services, "soft")["status"] == "TERMINAL"

    client.post("/pipelines", json=_pipeline(JUDGE, DEPLOY_PROD, name="judged"))
    judged = _run(client, services, "judged", judge=True)
    assert judged["status"] == "SUCCEEDED", judged
    assert next(s for s in judged["stages"] if s["refId"] == "2")["context"]["pollCount"] == 1


def test_a_start_policy_refuses_on_friday_afternoon_and_allows_on_thursday(make: Any) -> None:
    services, client = make(NO_FRIDAY_AFTERNOONS, now_ms=FRIDAY_4PM)
    client.post("/pipelines", json=_pipeline(BUILD, DEPLOY_PROD))
    refused = _run(client, services)
    assert refused["status"] == "TERMINAL"
    first = next(s for s in refused["stages"] if s["refId"] == "1")
    assert first["status"] == "TERMINAL" and first["tasks"] == []
    assert "no deploys on Friday after 15:00 UTC" in first["context"]["exception"]["details"]["errors"][0]
    # A pipeline that deploys nothing may run on a Friday afternoon.
    client.post("/pipelines", json=_pipeline(BUILD, name="build-only"))
    assert _run(client, services, "build-only")["status"] == "SUCCEEDED"

    services2, client2 = make(NO_FRIDAY_AFTERNOONS, NO_FRIDAY_AFTERNOON_STAGES, now_ms=THURSDAY_NOON)
    client2.post("/pipelines", json=_pipeline(BUILD, DEPLOY_PROD))
    assert _run(client2, services2)["status"] == "SUCCEEDED"

    # At stage time: the build runs, the deploy stage is refused.
    services3, client3 = make(NO_FRIDAY_AFTERNOON_STAGES, now_ms=FRIDAY_4PM)
    client3.post("/pipelines", json=_pipeline(BUILD, DEPLOY_PROD))
    staged = _run(client3, services3)
    by_ref = {s["refId"]: s for s in staged["stages"]}
    assert staged["status"] == "TERMINAL" and by_ref["1"]["status"] == "SUCCEEDED"
    assert by_ref["2"]["status"] == "TERMINAL" and by_ref["2"]["tasks"] == []


def test_warnings_are_recorded_on_the_execution(make: Any) -> None:
    services, client = make({**PROD_AFTER_JUDGMENT_STAGE, "effect": "warn"})
    client.post("/pipelines", json=_pipeline(BUILD, DEPLOY_PROD))
    execution = _run(client, services)
    assert execution["status"] == "SUCCEEDED"
    assert execution["gennaker"]["policyWarnings"] == [
        "prod-after-judgment-at-run: a deploy to an account named prod must come after a manualJudgment"
    ]


def test_a_rule_that_cannot_be_evaluated_refuses_and_says_why(make: Any) -> None:
    _, client = make(
        {"name": "broken", "scopes": ["save"], "rule": "input.nosuch.field == 1", "message": "m"}
    )
    refused = client.post("/pipelines", json=_pipeline(BUILD))
    assert refused.status_code == 400
    assert "could not be evaluated" in refused.json()["errors"][0]["message"]


def test_list_and_dry_run(make: Any) -> None:
    _, client = make(PROD_AFTER_JUDGMENT_SAVE)
    assert [p["name"] for p in client.get("/policies").json()] == ["prod-after-judgment"]
    dry = client.post(
        "/policies/evaluate", json={"scope": "save", "pipeline": _pipeline(BUILD, DEPLOY_PROD)}
    ).json()
    assert dry["allowed"] is False and dry["verdicts"][0]["outcome"] == "deny"
    assert dry["input"]["stages"][1]["accounts"] == ["prod"]
    ok = client.post("/policies/evaluate", json={"scope": "save", "input": {"stages": []}}).json()
    assert ok["allowed"] is True
    assert client.post("/policies/evaluate", json={"scope": "later"}).status_code == 400


def test_bad_policy_settings_name_the_problem() -> None:
    cases = [
        ({"rules": [{"name": "x", "rule": "1 +", "message": "m"}]}, "not valid CEL"),
        ({"rules": [{"name": "x", "message": "m"}]}, "needs 'rule'"),
        ({"rules": [{"name": "x", "engine": "opa", "message": "m"}]}, "needs 'path'"),
        (
            {"rules": [{"name": "x", "engine": "opa", "path": "p", "scopes": ["save"], "message": "m"}]},
            "url is not",
        ),
    ]
    for section, expected in cases:
        with pytest.raises(ConfigError, match=expected):
            settings = load_settings(environ={}, overrides={"policies": section})
            from gennaker.policies.evaluator import PolicyEngine

            PolicyEngine(policy_settings(settings), FrozenClock())


PROD_AFTER_JUDGMENT_START = {
    **PROD_AFTER_JUDGMENT_SAVE,
    "name": "prod-after-judgment-at-start",
    "scopes": ["start"],
}
HTTPS_WEBHOOKS_STAGE = {
    "name": "https-webhooks-at-run",
    "scopes": ["stage"],
    "rule": 'input.stage.type != "webhook" || input.stage.context.url.startsWith("https://")',
    "message": "webhook URLs must be https",
}


def test_prod_after_judgment_at_start_refuses_before_any_stage_and_allows_a_judged_deploy(
    make: Any,
) -> None:
    """The save example, written for the start scope (pipelines saved before the policy existed)."""
    services, client = make(PROD_AFTER_JUDGMENT_START)
    client.post("/pipelines", json=_pipeline(BUILD, DEPLOY_PROD))
    refused = _run(client, services)
    assert refused["status"] == "TERMINAL"
    assert all(s["tasks"] == [] for s in refused["stages"])
    assert (
        "must come after a manualJudgment"
        in (
            next(s for s in refused["stages"] if s["refId"] == "1")["context"]["exception"]["details"][
                "error"
            ]
        )
    )
    client.post("/pipelines", json=_pipeline(JUDGE, DEPLOY_PROD, name="judged"))
    assert _run(client, services, "judged", judge=True)["status"] == "SUCCEEDED"


def test_https_webhooks_at_stage_time_judge_the_url_after_expressions(make: Any) -> None:
    """A URL built by an expression is judged as evaluated: http refused before any request is
    made (a real receiver on 127.0.0.1 counts them), https allowed (the dry run of the same
    stage document, since no TLS receiver runs here)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[str] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        services, client = make(HTTPS_WEBHOOKS_STAGE)
        hook = {
            "refId": "1",
            "type": "webhook",
            "name": "Tell",
            "method": "POST",
            "url": f"${{parameters.scheme}}://127.0.0.1:{receiver.server_address[1]}/x",
        }
        config = {**_pipeline(hook), "parameterConfig": [{"name": "scheme", "default": "http"}]}
        assert client.post("/pipelines", json=config).status_code == 200
        refused = _run(client, services)
        (stage,) = refused["stages"]
        assert refused["status"] == "TERMINAL" and stage["tasks"] == []
        assert stage["context"]["exception"]["details"]["errors"] == [
            "denied by policy https-webhooks-at-run: webhook URLs must be https"
        ]
        assert received == []
        document = {"stage": {"type": "webhook", "context": {"url": "https://127.0.0.1/x"}, "accounts": []}}
        dry = client.post("/policies/evaluate", json={"scope": "stage", "input": document}).json()
        assert dry["allowed"] is True
        dry = client.post(
            "/policies/evaluate",
            json={
                "scope": "stage",
                "input": {"stage": {**document["stage"], "context": {"url": "http://x"}}},
            },
        ).json()
        assert dry["allowed"] is False
    finally:
        receiver.shutdown()
        receiver.server_close()
