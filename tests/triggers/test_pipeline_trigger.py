"""Pipeline-completion triggers through the outbox dispatcher: the child starts with its parent's
execution, once, however often the events are read; statuses map as Orca maps them."""

from __future__ import annotations

import sqlalchemy as sa

from gennaker import events
from gennaker.model.status import ExecutionStatus
from gennaker.services import Services
from gennaker.store.schema import event_cursors
from gennaker.testing import run_until_idle
from gennaker.triggers.pipeline import status_name
from gennaker.triggers.scheduler import run_once_sync
from tests.triggers.conftest import executions_of, save_pipeline


def parent_and_children(services: Services) -> tuple[dict[str, object], dict[str, dict[str, object]]]:
    parent = save_pipeline(
        services, name="build", stages=[{"refId": "1", "type": "scripted", "name": "compile"}]
    )

    def child(name: str, statuses: list[str], **extra: object) -> dict[str, object]:
        trigger = {
            "type": "pipeline",
            "enabled": True,
            "application": "SHOP",
            "pipeline": parent["id"],
            "status": statuses,
        }
        return save_pipeline(services, name=name, triggers=[{**trigger, **extra}])

    children = {
        "on-success": child("on-success", ["successful"], runAsUser="svc"),
        "on-failure": child("on-failure", ["failed", "canceled"]),
        "other-app": child("other-app", ["successful"], application="elsewhere"),
    }
    return parent, children


def test_child_pipeline_starts_once_with_its_parent(services: Services) -> None:
    parent, children = parent_and_children(services)
    execution = services.launcher.start_pipeline(parent, {"type": "manual", "user": "ana"})
    run_until_idle(services)
    run_once_sync(services)
    [child] = executions_of(services, str(children["on-success"]["id"]))
    trigger = child.trigger
    assert trigger["type"] == "pipeline"
    assert trigger["parentPipelineId"] == execution.id
    assert trigger["parentPipelineName"] == "build" and trigger["parentPipelineApplication"] == "shop"
    assert trigger["parentExecution"]["id"] == execution.id
    assert trigger["parentExecution"]["status"] == "SUCCEEDED"
    assert trigger["user"] == "ana" and trigger["runAsUser"] == "svc"
    assert executions_of(services, str(children["on-failure"]["id"])) == []
    assert executions_of(services, str(children["other-app"]["id"])) == []
    # Reading the log again (a crash before the cursor moved) starts nothing twice.
    with services.db.transaction() as conn:
        conn.execute(event_cursors.update().values(position=0))
    run_once_sync(services)
    assert len(executions_of(services, str(children["on-success"]["id"]))) == 1
    run_until_idle(services)
    with services.db.read() as conn:
        assert services.executions.load(conn, child.id).status == ExecutionStatus.SUCCEEDED
        fired = events.list_events(conn, events.EventQuery(types=(events.TRIGGER_FIRED,)))
    assert [e.body["source"] for e in fired] == ["pipeline"]


def test_failed_and_canceled_parents(sqlite_services: Services) -> None:
    services = sqlite_services
    parent, children = parent_and_children(services)
    failing = {
        **parent,
        "stages": [{"refId": "1", "type": "scripted", "name": "compile", "result": "TERMINAL"}],
    }
    services.launcher.start_pipeline(failing, {"type": "manual"})
    slow = {**parent, "stages": [{"refId": "1", "type": "scripted", "name": "compile", "polls": 100}]}
    canceled = services.launcher.start_pipeline(slow, {"type": "manual"})
    run_until_idle(services, advance_clock=False)
    services.operations.cancel(canceled.id, user="ana", reason="no")
    run_until_idle(services)
    run_once_sync(services)
    statuses = sorted(
        e.trigger["parentStatus"] for e in executions_of(services, str(children["on-failure"]["id"]))
    )
    assert statuses == ["canceled", "failed"]
    assert executions_of(services, str(children["on-success"]["id"])) == []


def test_status_names() -> None:
    assert [status_name(s.value) for s in (ExecutionStatus.SUCCEEDED, ExecutionStatus.CANCELED)] == [
        "successful",
        "canceled",
    ]
    assert {status_name(s) for s in ("TERMINAL", "STOPPED", "FAILED_CONTINUE")} == {"failed"}


def test_dispatcher_starts_after_existing_events_on_an_upgraded_database(sqlite_services: Services) -> None:
    services = sqlite_services
    with services.db.read() as conn:
        position = conn.execute(sa.select(event_cursors.c.position)).scalar()
    assert position == 0  # a fresh database: nothing before the dispatcher's cursor
