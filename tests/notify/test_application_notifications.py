"""Application-level notifications fire for every pipeline of the application, merged into the
pipeline's own as Orca's EchoNotifyingExecutionListener.addApplicationNotifications does (a
pipeline notification of the same type and address overrides the whens it lists), delivered to a
real HTTP receiver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gennaker.services import Services
from gennaker.testing import make_services, run_until_idle
from gennaker.triggers.scheduler import run_once_sync
from tests.engine.fakes import EngineTestPlugin
from tests.notify.conftest import Receiver


@pytest.fixture
def services(sqlite_url: str) -> Iterator[Services]:
    built = make_services(sqlite_url, plugins=(EngineTestPlugin(),))
    yield built
    built.close()


def _save(services: Services, application: str, body: dict[str, Any]) -> None:
    with services.db.transaction() as conn:
        services.app_notifications.save(conn, application, body, user="ana")


def _run(services: Services, name: str, **config: Any) -> str:
    body = {
        "id": f"cfg-{name}",
        "application": "shop",
        "name": name,
        "stages": [{"refId": "1", "type": "noop"}],
    }
    body.update(config)
    execution = services.launcher.start_pipeline(body, {"type": "manual", "user": "ana"})
    run_until_idle(services, advance_clock=False)
    run_once_sync(services)
    return execution.id


def test_application_notifications_fire_for_every_pipeline(services: Services, receiver: Receiver) -> None:
    hook = f"{receiver.url}/team"
    _save(
        services,
        "shop",
        {
            "application": "shop",
            "webhook": [
                {
                    "type": "webhook",
                    "address": hook,
                    "level": "application",
                    "when": ["pipeline.starting", "pipeline.complete", "stage.failed"],
                }
            ],
        },
    )
    first = _run(services, "build")
    second = _run(services, "deploy")
    got = sorted((r.body["executionId"], r.body["when"]) for r in receiver.requests)
    assert got == sorted(
        [
            (first, "pipeline.starting"),
            (first, "pipeline.complete"),
            (second, "pipeline.starting"),
            (second, "pipeline.complete"),
        ]
    )
    assert all(r.path == "/team" for r in receiver.requests)


def test_a_pipeline_notification_to_the_same_address_overrides_its_whens(
    services: Services, receiver: Receiver
) -> None:
    hook = f"{receiver.url}/team"
    _save(
        services,
        "shop",
        {"webhook": [{"type": "webhook", "address": hook, "level": "application", "when": ["pipeline.starting", "pipeline.complete"]}]},
    )  # fmt: skip
    own = {"type": "webhook", "address": hook, "level": "pipeline", "when": ["pipeline.complete"]}
    _run(services, "deploy", notifications=[own])
    # starting from the application's entry, complete once (from the pipeline's own entry).
    assert sorted(r.body["when"] for r in receiver.requests) == ["pipeline.complete", "pipeline.starting"]


def test_other_applications_and_orchestrations_get_none(services: Services, receiver: Receiver) -> None:
    _save(
        services,
        "other",
        {"webhook": [{"type": "webhook", "address": f"{receiver.url}/x", "when": ["pipeline.complete"]}]},
    )
    _run(services, "deploy")
    _save(
        services,
        "shop",
        {"webhook": [{"type": "webhook", "address": f"{receiver.url}/x", "when": ["pipeline.complete"]}]},
    )
    services.launcher.start_orchestration("shop", "ad hoc", [{"type": "noop"}])
    run_until_idle(services, advance_clock=False)
    run_once_sync(services)
    assert receiver.requests == []
