"""URL-fetching expressions do not hold the database's write lock (issue #10, item 4; architecture
decision 3): a stage expression calling ``#fromUrl`` on a slow URL made an unrelated save wait for
the fetch, and so did a trigger under ``spelEvaluator: v3``. A real HTTP server on 127.0.0.1
holds the fetch (an Event, not a sleep) while the test makes an unrelated write; the write must
complete while the fetch is still held. SQLite, whose single write lock is what was held."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from gennaker.model.status import ExecutionStatus as S
from gennaker.services import Services
from gennaker.testing import make_services
from tests.engine.fakes import EngineTestPlugin
from tests.engine.held_http import HeldServer, holding
from tests.engine.test_cancel_outcome import Worker, wait_for


@pytest.fixture
def services(sqlite_url: str) -> Iterator[Services]:
    made = make_services(
        sqlite_url,
        plugins=(EngineTestPlugin(),),
        outbound__allow=["127.0.0.1"],
        expressions__url_timeout_seconds=60,
        expressions__max_seconds=60,
    )
    yield made
    made.close()


@pytest.fixture
def held() -> Iterator[HeldServer]:
    with holding(hold_s=60) as server:
        yield server


def unrelated_write(services: Services) -> threading.Event:
    """Save another application's pipeline in a thread; the Event is set once it has committed."""
    done = threading.Event()

    def write() -> None:
        with services.db.transaction() as conn:
            services.pipelines.save(
                conn, {"application": "other", "name": "unrelated", "stages": []}, user="someone"
            )
        done.set()

    threading.Thread(target=write, daemon=True).start()
    return done


def assert_write_completes_while_the_fetch_is_held(services: Services, held: HeldServer) -> None:
    assert held.arrived.wait(30), "the URL was never fetched"
    done = unrelated_write(services)
    # Generous: the write takes milliseconds unless it waits for the held fetch (60 s).
    assert done.wait(20), "the unrelated write waited for the URL fetch"
    assert not held.release.is_set() and len(held.requests) == 1  # the fetch was still held


def test_a_stage_expression_fetching_a_url_does_not_block_other_writes(
    services: Services, held: HeldServer
) -> None:
    config: dict[str, Any] = {
        "application": "shop",
        "name": "reads-a-url",
        "id": "reads-a-url",
        "spelEvaluator": "v4",  # stage expressions at stage time (v3 also evaluates them at start)
        "stages": [
            {"refId": "1", "type": "scripted", "outputs": {"remote": f"${{#fromUrl('{held.url()}')}}"}}
        ],
    }
    with Worker(services):
        execution = services.launcher.start_pipeline(config, {"type": "manual"})
        assert_write_completes_while_the_fetch_is_held(services, held)
        held.release.set()

        def ended() -> bool:
            with services.db.read() as conn:
                status = services.executions.status_of(conn, execution.id)
            return status is not None and status.is_complete

        wait_for(ended, "the execution to end")
    with services.db.read() as conn:
        done = services.executions.load(conn, execution.id)
    assert done.status == S.SUCCEEDED
    assert done.stages[0].outputs["remote"] == '{"ok": true}'


def test_a_v3_trigger_fetching_a_url_does_not_block_other_writes(
    services: Services, held: HeldServer
) -> None:
    config: dict[str, Any] = {
        "application": "shop",
        "name": "v3",
        "id": "v3",
        "spelEvaluator": "v3",
        "stages": [{"refId": "1", "type": "noop", "name": f"${{#fromUrl('{held.url()}').length()}}"}],
    }
    started: list[Any] = []
    starter = threading.Thread(
        target=lambda: started.append(services.launcher.start_pipeline(config, {"type": "manual"})),
        daemon=True,
    )
    starter.start()
    assert_write_completes_while_the_fetch_is_held(services, held)
    held.release.set()
    starter.join(30)
    [execution] = started
    assert execution.stages[0].name == "12"  # len('{"ok": true}')


def test_a_url_helper_inside_a_transaction_is_refused(services: Services, held: HeldServer) -> None:
    """Where the evaluation cannot leave the transaction, the fetch is refused, not made."""
    with services.db.transaction():
        found = services.evaluator.evaluate_pipeline_config(
            {"application": "a", "name": "n", "description": f"${{#fromUrl('{held.url()}')}}"}, {}
        )
    assert found["description"].startswith("${")
    assert held.requests == []
