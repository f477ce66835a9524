"""Preconfigured webhooks: operator-defined stage types from ``[[webhook.preconfigured]]``."""

from __future__ import annotations

from typing import Any

import pytest

from gennaker.config import ConfigError, load_settings
from gennaker.model.status import ExecutionStatus as S
from gennaker.stages.webhook_preconfigured import list_preconfigured
from gennaker.testing import make_services
from tests.stages.conftest import Harness
from tests.stages.http_service import Reply, Service


def preconfigured(service: Service, **extra: Any) -> dict[str, Any]:
    return {
        "type": "notifyTracker",
        "label": "Notify the tracker",
        "description": "Tells the deploy tracker",
        "url": service.url("/deploys"),
        "method": "PUT",
        "customHeaders": {"X-Api-Key": "secret", "X-Env": "${parameterValues['env']}"},
        "payload": {"env": "${parameterValues['env']}"},
        "parameters": [{"name": "env", "label": "Environment", "defaultValue": "prod"}],
        **extra,
    }


def settings_with(*hooks: dict[str, Any]) -> dict[str, Any]:
    return {"webhook": {"preconfigured": list(hooks)}}


def test_runs_as_its_own_type_with_operator_fields_overwriting(make_harness: Any, service: Service) -> None:
    harness: Harness = make_harness(**settings_with(preconfigured(service)))
    service.on("PUT", "/deploys", Reply(200, {"ok": True}))
    execution = harness.start(
        [
            {
                "refId": "1",
                "type": "notifyTracker",
                "url": "http://example.invalid/",  # the operator's url wins
                "method": "GET",
                "parameterValues": {"env": "staging"},
            }
        ]
    )
    harness.run()
    assert harness.get(execution.id).status == S.SUCCEEDED
    sent = service.calls("PUT", "/deploys")
    assert len(sent) == 1 and sent[0].headers["x-api-key"] == ["secret"]
    assert sent[0].headers["x-env"] == ["staging"]
    stage = harness.stage(execution.id, "1")
    assert "secret" not in str(harness.get(execution.id).to_json())  # credentials stay in the settings
    assert "customHeaders" not in stage.context
    assert stage.context["preconfiguredHeaders"] == ["X-Api-Key", "X-Env"]
    assert stage.context["url"] == service.url("/deploys") and stage.context["method"] == "PUT"
    assert stage.context["parameterValues"] == {"env": "staging"}
    assert sent[0].json() == {"env": "staging"}


def test_alias_form_and_parameter_defaults(make_harness: Any, service: Service) -> None:
    harness: Harness = make_harness(**settings_with(preconfigured(service)))
    service.on("PUT", "/deploys", Reply(200))
    execution = harness.start([{"refId": "1", "type": "notifyTracker", "alias": "preconfiguredWebhook"}])
    harness.run()
    assert harness.get(execution.id).status == S.SUCCEEDED
    assert harness.stage(execution.id, "1").context["parameterValues"] == {"env": "prod"}
    assert service.calls("PUT", "/deploys")[0].json() == {"env": "prod"}


def test_preconfigured_wait_for_completion(make_harness: Any, service: Service) -> None:
    hook = preconfigured(
        service,
        waitForCompletion=True,
        statusUrlResolution="locationHeader",
        statusJsonPath="state",
        successStatuses="done",
    )
    harness: Harness = make_harness(**settings_with(hook))
    service.on("PUT", "/deploys", Reply(201, headers={"Location": "/deploys/1"}))
    service.on("GET", "/deploys/1", Reply(200, {"state": "busy"}), Reply(200, {"state": "done"}))
    execution = harness.start([{"refId": "1", "type": "notifyTracker"}])
    harness.run()
    assert harness.get(execution.id).status == S.SUCCEEDED
    assert [t.name for t in harness.stage(execution.id, "1").tasks] == ["createWebhook", "monitorWebhook"]


def test_disabled_and_unknown_types_fail_with_a_message(make_harness: Any, service: Service) -> None:
    harness: Harness = make_harness(**settings_with(preconfigured(service, enabled=False)))
    disabled = harness.start([{"refId": "1", "type": "notifyTracker"}], id="a")
    unknown = harness.start([{"refId": "1", "type": "nope", "alias": "preconfiguredWebhook"}], id="b")
    harness.run()
    assert harness.stage(disabled.id, "1").context["exception"]["details"]["errors"] == [
        "The preconfigured webhook 'notifyTracker' is disabled by the operator"
    ]
    assert harness.stage(unknown.id, "1").context["exception"]["details"]["errors"] == [
        "There is no preconfigured webhook of type 'nope' (see [[webhook.preconfigured]] in gennaker.toml)"
    ]
    assert service.requests == []


def test_list_preconfigured_shape(service: Service) -> None:
    settings = load_settings(
        environ={},
        overrides=settings_with(
            preconfigured(service),
            {"type": "off", "enabled": False, "url": "http://x"},
            {"type": "bare", "label": "Bare"},
        ),
    )
    assert list_preconfigured(settings) == [
        {
            "type": "notifyTracker",
            "label": "Notify the tracker",
            "description": "Tells the deploy tracker",
            "waitForCompletion": False,
            "preconfiguredProperties": ["customHeaders", "method", "payload", "url"],
            "noUserConfigurableFields": True,
            "parameters": [
                {
                    "name": "env",
                    "label": "Environment",
                    "description": None,
                    "type": "string",
                    "defaultValue": "prod",
                }
            ],
        },
        {
            "type": "bare",
            "label": "Bare",
            "description": None,
            "waitForCompletion": False,
            "preconfiguredProperties": [],
            "noUserConfigurableFields": False,
            "parameters": [],
        },
    ]


@pytest.mark.parametrize(
    ("webhook", "problem"),
    [
        ({"preconfigured": [{"type": "wait"}]}, "webhook.preconfigured type 'wait' is already a stage type"),
        ({"preconfigured": [{"type": "a"}, {"type": "a"}]}, "type 'a' is defined twice"),
        ({"preconfigured": [{"type": "a", "method": "FETCH"}]}, "webhook.preconfigured.0.method"),
        (
            {"preconfigured": [{"type": "a", "statusUrlResolution": "guess"}]},
            "webhook.preconfigured.0.statusUrlResolution",
        ),
        ({"read_timeout_seconds": 0}, "webhook.read_timeout_seconds"),
        ({"unknown": 1}, "webhook.unknown"),
    ],
)
def test_bad_webhook_settings_are_reported_at_start(webhook: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace("[", r"\[").replace(".", r"\.")):
        make_services("memory://", webhook=webhook)
