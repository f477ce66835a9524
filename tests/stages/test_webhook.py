"""``webhook`` against a real HTTP server on 127.0.0.1: the call, fail-fast, retries, the cancel
endpoint, the outbound policy, and the failures that must say exactly what went wrong. Status
polling is in test_webhook_monitor.py."""

from __future__ import annotations

import socket
from typing import Any

from gennaker.model.status import ExecutionStatus as S
from tests.stages.conftest import Harness
from tests.stages.http_service import Reply, Service


def hook(service: Service, path: str = "/jobs", **context: Any) -> dict[str, Any]:
    return {"refId": "1", "type": "webhook", "name": "Call", "url": service.url(path), **context}


def webhook_of(harness: Harness, execution_id: str) -> dict[str, Any]:
    result: dict[str, Any] = harness.stage(execution_id, "1").context["webhook"]
    return result


def errors(harness: Harness, execution_id: str) -> list[str]:
    result: list[str] = harness.stage(execution_id, "1").context["exception"]["details"]["errors"]
    return result


def test_post_with_payload_and_headers(harness: Harness, service: Service) -> None:
    service.on("POST", "/jobs", Reply(200, {"id": 7}, headers={"X-Trace": "abc"}))
    execution = harness.start(
        [
            hook(
                service,
                payload={"app": "shop", "n": 1},
                customHeaders={"Authorization": "Bearer t", "X-Multi": ["a", "b"]},
            )
        ]
    )
    harness.run()
    assert harness.get(execution.id).status == S.SUCCEEDED
    sent = service.calls("POST", "/jobs")[0]
    assert sent.json() == {"app": "shop", "n": 1}
    assert sent.headers["authorization"] == ["Bearer t"]
    assert sent.headers["x-multi"] == ["a", "b"]
    assert sent.headers["content-type"] == ["application/json"]
    result = webhook_of(harness, execution.id)
    assert result["statusCode"] == "OK" and result["statusCodeValue"] == 200
    assert result["body"] == {"id": 7}
    assert result["headers"]["X-Trace"] == ["abc"]


def test_string_payload_and_method(harness: Harness, service: Service) -> None:
    service.on("PUT", "/jobs", Reply(204))
    execution = harness.start(
        [hook(service, method="put", payload="raw text", customHeaders={"Content-Type": "text/plain"})]
    )
    harness.run()
    sent = service.calls("PUT", "/jobs")[0]
    assert sent.body == b"raw text" and sent.headers["content-type"] == ["text/plain"]
    assert webhook_of(harness, execution.id)["statusCode"] == "NO_CONTENT"
    assert "body" not in webhook_of(harness, execution.id)


def test_fail_fast_status_code_ends_at_once(harness: Harness, service: Service) -> None:
    service.on("POST", "/jobs", Reply(504))
    service.on("POST", "/teapot", Reply(418))
    default = harness.start([hook(service)], id="a")
    custom = harness.start([hook(service, "/teapot", failFastStatusCodes=[418])], id="b")
    harness.run()
    assert harness.stage(default.id, "1").status == S.TERMINAL
    assert len(service.calls("POST", "/jobs")) == 1
    assert errors(harness, default.id) == [
        f"Received status code 504 from {service.url('/jobs')}, which is configured to fail fast; terminating the stage"
    ]
    assert harness.stage(custom.id, "1").status == S.TERMINAL
    assert len(service.calls("POST", "/teapot")) == 1


def test_5xx_429_and_listed_codes_are_retried(harness: Harness, service: Service) -> None:
    service.on("POST", "/jobs", Reply(503), Reply(429), Reply(409), Reply(200, {"ok": True}))
    execution = harness.start([hook(service, webhookRetryStatusCodes=[409])])
    harness.run()
    assert harness.get(execution.id).status == S.SUCCEEDED
    assert len(service.calls("POST", "/jobs")) == 4


def test_a_4xx_fails_without_retry(harness: Harness, service: Service) -> None:
    service.on("POST", "/jobs", Reply(400, {"error": "bad"}))
    execution = harness.start([hook(service)])
    harness.run()
    assert harness.stage(execution.id, "1").status == S.TERMINAL
    assert len(service.calls("POST", "/jobs")) == 1
    result = webhook_of(harness, execution.id)
    assert result["statusCodeValue"] == 400 and result["body"] == {"error": "bad"}
    assert result["error"].endswith("with status code 400")


def test_create_retries_give_up_after_five_minutes(harness: Harness, service: Service) -> None:
    service.on("POST", "/jobs", Reply(500))
    execution = harness.start([hook(service)])
    harness.run()
    stage = harness.stage(execution.id, "1")
    assert stage.status == S.TERMINAL
    assert stage.context["exception"]["exceptionType"] == "TimeoutException"
    assert "did not succeed within 5 minutes" in errors(harness, execution.id)[0]
    assert "status code 500" in errors(harness, execution.id)[0]
    assert 25 <= len(service.calls("POST", "/jobs")) <= 32  # every 10 s for 5 minutes


def test_cancel_endpoint_is_called_when_canceled(harness: Harness, service: Service) -> None:
    service.on("POST", "/jobs", Reply(200, {"id": "j1"}))
    service.on("GET", "/jobs", Reply(200, {"s": "running"}))
    service.on("DELETE", "/jobs/j1", Reply(202))
    execution = harness.start(
        [
            hook(
                service,
                waitForCompletion=True,
                statusJsonPath="s",
                successStatuses="done",
                cancelEndpoint=service.url("/jobs/") + "${webhook.body.id}",  # from the create response
                cancelMethod="DELETE",
                cancelPayload={"reason": "canceled"},
                customHeaders={"X-Token": "t"},
            )
        ]
    )
    harness.run(advance_clock=False)
    harness.services.operations.cancel(execution.id, user="ann")
    harness.run(advance_clock=False)
    stage = harness.stage(execution.id, "1")
    assert stage.status == S.CANCELED
    called = service.calls("DELETE", "/jobs/j1")
    assert len(called) == 1 and called[0].json() == {"reason": "canceled"}
    assert called[0].headers["x-token"] == ["t"]
    assert stage.context["cancelResults"] == {
        "status": "done",
        "cancelEndpoint": service.url("/jobs/j1"),
        "statusCode": 202,
    }


def test_cancel_endpoint_is_called_when_the_stage_fails(harness: Harness, service: Service) -> None:
    service.on("POST", "/jobs", Reply(200))
    service.on("GET", "/jobs", Reply(200, {"s": "failed"}))
    service.on("POST", "/cancel", Reply(500))
    execution = harness.start(
        [
            hook(
                service,
                waitForCompletion=True,
                statusJsonPath="s",
                terminalStatuses="failed",
                cancelEndpoint=service.url("/cancel"),
            )
        ]
    )
    harness.run()
    stage = harness.stage(execution.id, "1")
    assert stage.status == S.TERMINAL
    assert len(service.calls("POST", "/cancel")) == 1
    assert stage.context["cancelResults"]["statusCode"] == 500  # best effort: recorded, nothing more


def test_denied_address_fails_with_the_reason(make_harness: Any, service: Service) -> None:
    harness = make_harness(outbound__deny="127.0.0.0/8")
    execution = harness.start([hook(service)])
    harness.run()
    assert harness.stage(execution.id, "1").status == S.TERMINAL
    assert errors(harness, execution.id) == [
        f"The outbound policy refuses {service.url('/jobs')}: matches the deny list entry '127.0.0.0/8'"
    ]
    assert service.requests == []


def test_metadata_address_is_refused_by_default(harness: Harness) -> None:
    execution = harness.start(
        [{"refId": "1", "type": "webhook", "url": "http://169.254.169.254/latest/meta-data"}]
    )
    harness.run()
    assert "cloud metadata" in errors(harness, execution.id)[0]


def test_unreachable_address_fails_with_the_reason(harness: Harness) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/jobs"
    execution = harness.start([{"refId": "1", "type": "webhook", "url": url}])
    harness.run()
    assert harness.stage(execution.id, "1").status == S.TERMINAL
    assert errors(harness, execution.id)[0].startswith(f"Cannot connect to {url}")


def test_response_size_limit(make_harness: Any, service: Service) -> None:
    harness = make_harness(webhook={"max_response_bytes": 2048})
    service.on("POST", "/jobs", Reply(200, "x" * 5000))
    execution = harness.start([hook(service)])
    harness.run()
    assert errors(harness, execution.id) == [
        f"The response from {service.url('/jobs')} is larger than 2048 bytes"
    ]


def test_restart_calls_the_webhook_again(harness: Harness, service: Service) -> None:
    service.on("POST", "/jobs", Reply(400), Reply(200))
    execution = harness.start([hook(service)])
    harness.run()
    stage = harness.stage(execution.id, "1")
    assert stage.status == S.TERMINAL
    harness.services.operations.restart_stage(execution.id, stage.id)
    harness.run()
    assert harness.get(execution.id).status == S.SUCCEEDED
    assert webhook_of(harness, execution.id)["statusCodeValue"] == 200
    assert "error" not in webhook_of(harness, execution.id)


def test_url_and_payload_use_expressions(harness: Harness, service: Service) -> None:
    service.on("POST", "/deploy/eu", Reply(200))
    execution = harness.start(
        [hook(service, "/deploy/${trigger.parameters.region}", payload={"who": "${trigger.user}"})],
        parameterConfig=[{"name": "region", "default": "eu"}],
        trigger={"user": "gina"},
    )
    harness.run()
    assert harness.get(execution.id).status == S.SUCCEEDED
    assert service.calls("POST", "/deploy/eu")[0].json() == {"who": "gina"}
