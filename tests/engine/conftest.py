from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gennaker.clock import FrozenClock
from gennaker.model.execution import Execution, Stage
from gennaker.services import Services
from gennaker.testing import make_services, run_until_idle
from tests.engine.fakes import EngineTestPlugin


class Harness:
    """Services plus shortcuts: start a pipeline, run the engine, read the execution back."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.clock: FrozenClock = services.clock  # type: ignore[assignment]

    def start(self, stages: list[dict[str, Any]], **config: Any) -> Execution:
        body = {
            "application": config.pop("application", "app"),
            "name": config.pop("name", "pipe"),
            "id": config.pop("id", "cfg-1"),
            "stages": stages,
        }
        body.update(config)
        trigger = body.pop("trigger", None)
        return self.services.launcher.start_pipeline(body, trigger)

    def run(self, *, advance_clock: bool = True) -> int:
        return run_until_idle(self.services, advance_clock=advance_clock)

    def get(self, execution_id: str) -> Execution:
        with self.services.db.read() as conn:
            return self.services.executions.load(conn, execution_id)

    def stage(self, execution_id: str, ref_id: str) -> Stage:
        stage = self.get(execution_id).stage_by_ref_id(ref_id)
        assert stage is not None, ref_id
        return stage


@pytest.fixture
def make_harness(database_url: str) -> Iterator[Callable[..., Harness]]:
    created: list[Services] = []

    def factory(**settings: Any) -> Harness:
        services = make_services(database_url, plugins=(EngineTestPlugin(),), **settings)
        created.append(services)
        return Harness(services)

    yield factory
    for services in created:
        services.close()


@pytest.fixture
def harness(make_harness: Callable[..., Harness]) -> Harness:
    return make_harness()
