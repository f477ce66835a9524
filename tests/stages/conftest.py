"""The stage suites' harness: real services on SQLite and PostgreSQL (the ``database_url`` fixture),
the built-in stages as registered at start (plus the engine suite's scripted stages, which record
what a downstream stage sees), a frozen clock, and shortcuts to start pipelines, save pipeline
configs and run the engine."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gennaker.model.execution import Execution
from gennaker.services import Services
from gennaker.testing import make_services, run_until_idle
from tests.engine.conftest import Harness as EngineHarness
from tests.engine.fakes import EngineTestPlugin
from tests.stages.http_service import Service, serving


class Harness(EngineHarness):
    """The engine tests' harness, plus saving configs and waiting on work outside the engine."""

    def save_pipeline(self, config: dict[str, Any]) -> dict[str, Any]:
        with self.services.db.transaction() as conn:
            return self.services.pipelines.save(conn, config, user="tester")

    def run(self, *, advance_clock: bool = True) -> int:
        return run_until_idle(self.services, advance_clock=advance_clock)

    def run_until(self, done: Callable[[], bool], *, seconds: float = 15, step_ms: int = 1_000) -> None:
        """For work outside the engine (real processes): run, move the clock a step, repeat."""
        deadline = time.monotonic() + seconds
        while True:
            self.run(advance_clock=False)
            if done():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not done after {seconds} s")
            time.sleep(0.02)
            self.clock.advance(ms=step_ms)

    def run_until_complete(self, execution_id: str, **kwargs: Any) -> Execution:
        self.run_until(lambda: self.get(execution_id).status.is_complete, **kwargs)
        return self.get(execution_id)


@pytest.fixture
def make_harness(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    created: list[Services] = []

    def factory(**settings: Any) -> Harness:
        settings.setdefault("data_dir", str(tmp_path / "data"))
        services = make_services(database_url, plugins=(EngineTestPlugin(),), **settings)
        created.append(services)
        return Harness(services)

    yield factory
    for services in created:
        services.close()


@pytest.fixture
def harness(make_harness: Callable[..., Harness]) -> Harness:
    return make_harness()


@pytest.fixture
def service() -> Iterator[Service]:
    """A scripted HTTP server on 127.0.0.1."""
    with serving() as svc:
        yield svc
