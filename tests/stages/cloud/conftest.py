"""The cloud stages' harness: the stage harness plus the providers' agents (the local
provider's supervisor, the caching agents) run between engine rounds, as the scheduler role
runs them, and a clean machine afterwards (every deployed process stopped)."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gennaker.providers.agents import AgentRunner
from gennaker.providers.local.provider import LocalProvider
from tests.stages.conftest import Harness

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "hello"


class CloudHarness(Harness):
    """Runs the engine and the agents until a condition holds."""

    def agents_round(self) -> None:
        async def once() -> None:
            runner = AgentRunner(self.services.clouddriver, self.services.db, self.services.clock, "test")
            await runner.run_once()

        asyncio.run(once())

    def run_until(self, done: Callable[[], bool], *, seconds: float = 30, step_ms: int = 1_000) -> None:
        deadline = time.monotonic() + seconds
        while True:
            self.run(advance_clock=False)
            self.agents_round()
            if done():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not done after {seconds} s")
            time.sleep(0.05)
            self.clock.advance(ms=step_ms)

    @property
    def local(self) -> LocalProvider:
        provider = self.services.clouddriver.registry.get("local")
        assert isinstance(provider, LocalProvider)
        return provider


@pytest.fixture
def cloud(make_harness: Callable[..., Harness], tmp_path: Path) -> Iterator[CloudHarness]:
    base = make_harness()
    harness = CloudHarness(base.services)
    yield harness
    harness.local.stop_all()


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """A copy of the example service, as a package to bake."""
    target = tmp_path / "hello"
    shutil.copytree(EXAMPLE, target)
    return target


def deploy_pipeline(app: str, package: str, **cluster: Any) -> dict[str, Any]:
    """bake -> deploy of the example (no load balancer unless the cluster names one)."""
    spec = {
        "cloudProvider": "local",
        "account": "local",
        "region": "local",
        "application": app,
        "stack": "web",
        "freeFormDetails": "",
        "capacity": {"min": 2, "max": 2, "desired": 2},
        "strategy": "",
        "command": ["python3", "app.py"],
        "env": {"VERSION": "1"},
        "healthCheck": {"path": "/health"},
    }
    spec.update(cluster)
    return {
        "application": app,
        "name": "deploy",
        "stages": [
            {"refId": "1", "type": "bake", "name": "Bake", "cloudProvider": "local", "package": package},
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "type": "deploy",
                "name": "Deploy",
                "clusters": [spec],
            },
        ],
    }
