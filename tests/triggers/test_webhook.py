"""``POST /webhooks/webhook/{source}`` end to end: matching, what the trigger carries, duplicate
deliveries, and bad input; the started executions run through the real engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import orjson
import pytest

from gennaker import events
from gennaker.model.status import ExecutionStatus
from gennaker.services import Services
from gennaker.testing import run_until_idle
from gennaker.triggers.webhook import constraints_problem
from tests.triggers.conftest import TestClient, executions_of, save_pipeline

Client = Callable[[Services], TestClient]


def webhook_trigger(**fields: object) -> dict[str, object]:
    return {"type": "webhook", "enabled": True, "source": "shop-ci", **fields}


def trigger_events(services: Services, type_: str) -> list[events.EventRecord]:
    with services.db.read() as conn:
        return events.list_events(conn, events.EventQuery(types=(type_,)))


def test_matching_webhook_starts_pipeline_with_payload_parameters_and_artifacts(
    services: Services, client_for: Client
) -> None:
    config = save_pipeline(
        services,
        triggers=[webhook_trigger(payloadConstraints={"branch": "^main$", "$.build.result": "SUCC"})],
        parameterConfig=[{"name": "env", "default": "staging"}],
    )
    artifact = {"type": "docker/image", "name": "reg/app", "version": "1.2", "reference": "reg/app:1.2"}
    body = {
        "branch": "main",
        "build": {"result": "SUCCESS"},
        "parameters": {"version": "1.2"},
        "artifacts": [artifact],
    }
    response = client_for(services).post("/webhooks/webhook/shop-ci", json=body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["eventProcessed"] is True and answer["eventId"]
    [execution] = executions_of(services, config["id"])
    trigger = execution.trigger
    assert trigger["type"] == "webhook" and trigger["source"] == "shop-ci"
    assert trigger["payload"] == body
    assert trigger["parameters"] == {"version": "1.2", "env": "staging"}
    assert trigger["artifacts"] == [artifact]
    assert answer["pipelines"] == [{"pipelineConfigId": config["id"], "executionId": execution.id}]
    run_until_idle(services)
    with services.db.read() as conn:
        assert services.executions.load(conn, execution.id).status == ExecutionStatus.SUCCEEDED
    [fired] = trigger_events(services, events.TRIGGER_FIRED)
    assert fired.body["executionId"] == execution.id and fired.body["source"] == "webhook:shop-ci"


def test_constraint_mismatch_other_source_and_disabled_pipelines_start_nothing(
    services: Services, client_for: Client
) -> None:
    strict = save_pipeline(
        services, name="strict", triggers=[webhook_trigger(payloadConstraints={"branch": "^main$"})]
    )
    other = save_pipeline(services, name="other", triggers=[webhook_trigger(source="elsewhere")])
    off = save_pipeline(services, name="off", disabled=True, triggers=[webhook_trigger()])
    trigger_off = save_pipeline(services, name="trigger-off", triggers=[webhook_trigger(enabled=False)])
    response = client_for(services).post("/webhooks/webhook/shop-ci", json={"branch": "feature/x"})
    assert response.json()["eventProcessed"] is False
    for config in (strict, other, off, trigger_off):
        assert executions_of(services, config["id"]) == []
    [rejected] = trigger_events(services, events.TRIGGER_REJECTED)
    assert rejected.body["pipelineConfigId"] == strict["id"]
    assert "does not match" in rejected.body["reason"]


def test_enabled_as_string_and_run_as_user_are_honoured(services: Services, client_for: Client) -> None:
    config = save_pipeline(services, triggers=[webhook_trigger(enabled="true", runAsUser="svc-deploy")])
    client_for(services).post("/webhooks/webhook/shop-ci", json={})
    [execution] = executions_of(services, config["id"])
    assert execution.trigger["runAsUser"] == "svc-deploy"
    assert execution.trigger["user"] == "svc-deploy"


def test_same_delivery_twice_starts_one_execution(services: Services, client_for: Client) -> None:
    config = save_pipeline(services, triggers=[webhook_trigger()])
    client = client_for(services)
    first = client.post("/webhooks/webhook/shop-ci", json={"n": 1}, headers={"X-Delivery-Id": "d-1"}).json()
    again = client.post("/webhooks/webhook/shop-ci", json={"n": 1}, headers={"X-Delivery-Id": "d-1"}).json()
    by_body = client.post("/webhooks/webhook/shop-ci", json={"eventId": "e-7"}).json()
    by_body_again = client.post("/webhooks/webhook/shop-ci", json={"eventId": "e-7"}).json()
    assert first["eventId"] == "d-1"
    assert first["pipelines"][0]["executionId"] == again["pipelines"][0]["executionId"]
    assert again["pipelines"][0]["duplicate"] is True
    assert by_body["pipelines"][0]["executionId"] == by_body_again["pipelines"][0]["executionId"]
    assert len(executions_of(services, config["id"])) == 2


def test_expected_artifacts_must_be_received(sqlite_services: Services, client_for: Client) -> None:
    services = sqlite_services
    expected = {
        "id": "img",
        "displayName": "app image",
        "matchArtifact": {"type": "docker/image", "name": "reg/app"},
        "useDefaultArtifact": False,
    }
    config = save_pipeline(
        services, expectedArtifacts=[expected], triggers=[webhook_trigger(expectedArtifactIds=["img"])]
    )
    client = client_for(services)
    miss = client.post(
        "/webhooks/webhook/shop-ci", json={"artifacts": [{"type": "docker/image", "name": "reg/other"}]}
    )
    assert miss.json()["eventProcessed"] is False
    [rejected] = trigger_events(services, events.TRIGGER_REJECTED)
    assert "app image" in rejected.body["reason"]
    hit = client.post(
        "/webhooks/webhook/shop-ci",
        json={"artifacts": [{"type": "docker/image", "name": "reg/app", "version": "2"}]},
    )
    assert hit.json()["eventProcessed"] is True
    [execution] = executions_of(services, config["id"])
    assert execution.trigger["resolvedExpectedArtifacts"][0]["boundArtifact"]["version"] == "2"


def test_bad_requests_are_refused(sqlite_services: Services, client_for: Client) -> None:
    services = sqlite_services
    config = save_pipeline(services, triggers=[webhook_trigger()])
    client = client_for(services)
    unknown = client.post("/webhooks/nosuchtype/src", json={})
    assert unknown.status_code == 400 and "unknown webhook type" in unknown.json()["message"]
    bad_git = client.post("/webhooks/git/sourceforge", json={})
    assert bad_git.status_code == 400
    not_json = client.post(
        "/webhooks/webhook/shop-ci", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["message"]
    huge = b'{"x": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    too_big = client.post("/webhooks/webhook/shop-ci", content=huge)
    assert too_big.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap applies while reading
        for _ in range(11):
            yield b"a" * (1024 * 1024)

    streamed = client.post("/webhooks/webhook/shop-ci", content=chunks())
    assert streamed.status_code == 413
    assert executions_of(services, config["id"]) == []


@pytest.mark.parametrize(
    ("constraints", "payload", "ok"),
    [
        ({"branch": "main"}, {"branch": "not-main-either"}, True),  # a find, not a full match
        ({"branch": "^main$"}, {"branch": "main2"}, False),
        ({"count": "^4"}, {"count": 42}, True),  # numbers are compared as text
        ({"flag": "true"}, {"flag": True}, True),
        ({"repo.name": "shop"}, {"repo": {"name": "shop-api"}}, True),  # absent at top level: JSONPath
        ({"$.items[*].id": "^b$"}, {"items": [{"id": "a"}, {"id": "b"}]}, True),
        ({"missing": "x"}, {"other": "x"}, False),
        ({"branch": "("}, {"branch": "("}, False),  # an invalid regex never matches
    ],
)
def test_payload_constraints(constraints: dict[str, str], payload: dict[str, object], ok: bool) -> None:
    assert (constraints_problem(constraints, payload) is None) is ok


def test_a_catastrophic_constraint_regex_is_refused_not_run() -> None:
    """Item 5 of issue #10: ``^(a+)+$`` against 26 a's and a ``!`` took 4 s per request (doubling
    per character) on the API's threads. It runs under the expression language's backtracking
    guard: the constraint is unmet, and the reason says why."""
    problem = constraints_problem({"branch": "^(a+)+$"}, {"branch": "a" * 26 + "!"})
    assert problem is not None
    assert problem.startswith("payloadConstraints['branch'] not checked: regex '^(a+)+$' could backtrack")
    # Java's syntax, as Echo reads these patterns.
    assert constraints_problem({"branch": r"^\p{Alpha}+$"}, {"branch": "main"}) is None


def test_event_body_without_source_match_is_not_processed(
    sqlite_services: Services, client_for: Client
) -> None:
    save_pipeline(sqlite_services, triggers=[webhook_trigger()])
    response = client_for(sqlite_services).post(
        "/webhooks/webhook/SHOP-CI",
        content=orjson.dumps({"a": 1}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200 and response.json()["eventProcessed"] is False
