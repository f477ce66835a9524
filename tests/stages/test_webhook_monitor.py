"""The webhook monitor against a real HTTP server on 127.0.0.1: status URL resolution (getMethod,
locationHeader, webhookResponse), statusJsonPath/progressJsonPath, status lists and percent
complete, retry budgets, and the failures that must say exactly what went wrong."""

from __future__ import annotations

from typing import Any

from gennaker.model.status import ExecutionStatus as S
from tests.stages.conftest import Harness
from tests.stages.http_service import Reply, Service
from tests.stages.test_webhook import errors, hook, webhook_of


def test_status_polling_with_status_and_progress(harness: Harness, service: Service) -> None:
    service.on("POST", "/jobs", Reply(202, {"accepted": True}))
    service.on(
        "GET",
        "/jobs",
        Reply(200, {"state": {"name": "RUNNING"}, "msg": "step 1"}),
        Reply(200, {"state": {"name": "RUNNING"}, "msg": "step 2"}),
        Reply(200, {"state": {"name": "Done"}, "msg": "all done"}),
    )
    execution = harness.start(
        [
            hook(
                service,
                waitForCompletion=True,
                statusUrlResolution="getMethod",
                statusJsonPath="$.state.name",
                progressJsonPath="msg",
                successStatuses="ok, DONE",
            )
        ]
    )
    harness.run()
    assert harness.get(execution.id).status == S.SUCCEEDED
    result = webhook_of(harness, execution.id)
    assert result["statusEndpoint"] == service.url("/jobs")
    assert result["body"] == {"accepted": True}
    monitor = result["monitor"]
    assert monitor["resolvedValue"] == "Done" and monitor["progressMessage"] == "all done"
    assert monitor["pastStatusCodes"] == [200, 200, 200]
    assert len(service.calls("GET", "/jobs")) == 3


def test_location_header_and_terminal_status(harness: Harness, service: Service) -> None:
    service.on("POST", "/jobs", Reply(201, headers={"Location": "/jobs/42"}))
    service.on("GET", "/jobs/42", Reply(200, {"status": "exploded"}))
    execution = harness.start(
        [
            hook(
                service,
                waitForCompletion=True,
                statusUrlResolution="locationHeader",
                statusJsonPath="status",
                successStatuses="done",
                terminalStatuses="failed,EXPLODED",
            )
        ]
    )
    harness.run()
    assert harness.stage(execution.id, "1").status == S.TERMINAL
    assert webhook_of(harness, execution.id)["statusEndpoint"] == service.url("/jobs/42")
    assert errors(harness, execution.id) == ["The webhook reported the terminal status 'exploded'"]


def test_webhook_response_and_percent_complete(harness: Harness, service: Service) -> None:
    service.on("POST", "/jobs", Reply(200, {"links": {"self": service.url("/status/7")}}))
    service.on("GET", "/status/7", Reply(200, {"pct": 40}), Reply(200, {"pct": 100}))
    execution = harness.start(
        [
            hook(
                service,
                waitForCompletion=True,
                statusUrlResolution="webhookResponse",
                statusUrlJsonPath="$.links.self",
                statusJsonPath="$.pct",
            )
        ]
    )
    harness.run()
    assert harness.get(execution.id).status == S.SUCCEEDED
    assert webhook_of(harness, execution.id)["monitor"]["percentComplete"] == 100


def test_canceled_status_cancels_the_stage(harness: Harness, service: Service) -> None:
    service.on("POST", "/jobs", Reply(200))
    service.on("GET", "/jobs", Reply(200, {"s": "aborted"}))
    execution = harness.start(
        [hook(service, waitForCompletion=True, statusJsonPath="s", canceledStatuses="Aborted")]
    )
    harness.run()
    assert harness.stage(execution.id, "1").status == S.CANCELED


def test_without_status_path_the_first_2xx_succeeds(harness: Harness, service: Service) -> None:
    service.on("POST", "/jobs", Reply(200))
    service.on("GET", "/jobs", Reply(503), Reply(200, "fine"))
    execution = harness.start([hook(service, waitForCompletion=True)])
    harness.run()
    assert harness.get(execution.id).status == S.SUCCEEDED
    assert webhook_of(harness, execution.id)["monitor"]["pastStatusCodes"] == [503, 200]


def test_wait_before_monitor_and_monitor_only(harness: Harness, service: Service) -> None:
    service.clock = harness.clock
    service.on("GET", "/jobs", Reply(200, {"s": "done"}))
    start = harness.clock.now_ms()
    execution = harness.start(
        [hook(service, monitorOnly=True, waitBeforeMonitor=30, statusJsonPath="s", successStatuses="done")]
    )
    harness.run()
    assert harness.get(execution.id).status == S.SUCCEEDED
    assert service.calls("POST", "/jobs") == []
    polled = service.calls("GET", "/jobs")
    assert len(polled) == 1 and polled[0].at_ms is not None and polled[0].at_ms >= start + 30_000


def test_monitor_retry_budget_per_status_code(harness: Harness, service: Service) -> None:
    service.on("POST", "/jobs", Reply(200))
    service.on("GET", "/jobs", Reply(503), Reply(502), Reply(503), Reply(200, {"s": "done"}))
    execution = harness.start(
        [
            hook(
                service,
                waitForCompletion=True,
                statusJsonPath="s",
                successStatuses="done",
                retries={"503": {"maxAttempts": 2}},
            )
        ]
    )
    harness.run()
    assert harness.stage(execution.id, "1").status == S.TERMINAL
    monitor = webhook_of(harness, execution.id)["monitor"]
    assert monitor["pastStatusCodes"] == [503, 502, 503]
    assert "status code 503 came back 2 times (retries allow 2 attempts)" in monitor["error"]


def test_monitor_fails_on_an_unlisted_4xx(harness: Harness, service: Service) -> None:
    service.on("POST", "/jobs", Reply(200))
    service.on("GET", "/jobs", Reply(404), Reply(200, {"s": "done"}))
    listed = harness.start([hook(service, waitForCompletion=True, retryStatusCodes=[404])], id="a")
    harness.run()
    assert harness.get(listed.id).status == S.SUCCEEDED
    service.on("GET", "/jobs", Reply(404))
    unlisted = harness.start([hook(service, waitForCompletion=True)], id="b")
    harness.run()
    assert errors(harness, unlisted.id) == [
        f"Invalid status code 404 while monitoring the webhook at {service.url('/jobs')}"
    ]


def test_invalid_json_path_fails_with_the_path(harness: Harness, service: Service) -> None:
    service.on("POST", "/jobs", Reply(200))
    service.on("GET", "/jobs", Reply(200, {"s": "x"}))
    execution = harness.start([hook(service, waitForCompletion=True, statusJsonPath="$.[bad")])
    harness.run()
    message = errors(harness, execution.id)[0]
    assert message.startswith(
        "Unable to read the webhook status: statusJsonPath '$.[bad' is not a valid JSONPath"
    )


def test_status_path_not_found_and_body_not_json(harness: Harness, service: Service) -> None:
    service.on("POST", "/jobs", Reply(200))
    service.on("GET", "/jobs", Reply(200, {"other": 1}))
    service.on("GET", "/text", Reply(200, "plain words"))
    missing = harness.start([hook(service, waitForCompletion=True, statusJsonPath="state")], id="a")
    text = harness.start(
        [
            hook(
                service,
                waitForCompletion=True,
                statusUrlResolution="webhookResponse",
                statusUrlJsonPath="$.x",
            )
        ],
        id="b",
    )
    harness.run()
    assert errors(harness, missing.id) == [
        "Unable to read the webhook status: JSON property 'state' (statusJsonPath) not found in the response body"
    ]
    assert errors(harness, text.id) == [
        "Exception while resolving the status check URL: the response has no body"
    ]


def test_status_url_that_never_answers(make_harness: Any, service: Service) -> None:
    harness = make_harness(webhook={"read_timeout_seconds": 0.2})
    service.on("POST", "/jobs", Reply(200))
    service.on("GET", "/jobs", Reply(200, {"s": "done"}, delay_s=1.0))
    execution = harness.start(
        [hook(service, waitForCompletion=True, statusJsonPath="s", stageTimeoutMs=3_000)]
    )
    harness.run()
    assert harness.stage(execution.id, "1").status == S.TERMINAL
    assert errors(harness, execution.id) == [
        f"The webhook status at {service.url('/jobs')} did not report completion in time "
        f"({service.url('/jobs')} did not answer within 0.2 s)"
    ]
