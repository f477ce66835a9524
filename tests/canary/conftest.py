"""Canary tests: services with an in-memory metrics account (and a failing one), and API clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gennaker.api import create_app
from gennaker.canary.sources.base import MetricSourceRegistry
from gennaker.canary.sources.memory import MemoryMetricSource, Series
from gennaker.hookspecs import hookimpl
from gennaker.services import Services
from gennaker.testing import make_services
from tests.api.live import SyncClient


class MemorySources:
    """Registers the in-memory accounts ``memory`` (the given series) and ``down`` (always failing)."""

    def __init__(self, series: Series) -> None:
        self.series = series

    @hookimpl
    def register_metric_sources(self, registry: MetricSourceRegistry, settings: Any) -> None:
        registry.add(MemoryMetricSource("memory", self.series))
        registry.add(MemoryMetricSource("down", {}, failing="connection refused by 127.0.0.1:9"))


@pytest.fixture
def series() -> dict[tuple[str, str], list[tuple[dict[str, str], list[float | None]]]]:
    """Series the ``memory`` account serves; tests fill it in before running a canary."""
    return {}


@pytest.fixture
def canary_api(database_url: str, series: Series) -> Iterator[tuple[Services, SyncClient]]:
    services = make_services(database_url, plugins=(MemorySources(series),))
    client = SyncClient(create_app(services))
    yield services, client
    client.close()
    services.close()


@pytest.fixture
def client(canary_api: tuple[Services, SyncClient]) -> SyncClient:
    return canary_api[1]


def config(**overrides: Any) -> dict[str, Any]:
    """A valid canary config with two metrics in two groups."""
    body: dict[str, Any] = {
        "name": "shop-golden",
        "description": "request errors and latency",
        "configVersion": "1",
        "applications": ["shop"],
        "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
        "metrics": [
            {
                "name": "errors",
                "query": {"type": "memory", "metricName": "errors"},
                "groups": ["errors"],
                "analysisConfigurations": {"canary": {"direction": "increase"}},
                "scopeName": "default",
            },
            {
                "name": "latency",
                "query": {"type": "memory", "metricName": "latency"},
                "groups": ["latency"],
                "analysisConfigurations": {"canary": {"direction": "increase"}},
                "scopeName": "default",
            },
        ],
        "templates": {},
        "classifier": {
            "groupWeights": {"errors": 60, "latency": 40},
            "scoreThresholds": {"pass": 75, "marginal": 50},
        },
    }
    body.update(overrides)
    return body


def request(start: str = "2026-01-01T00:00:00Z", end: str = "2026-01-01T01:00:00Z") -> dict[str, Any]:
    """A CanaryExecutionRequest comparing scope ``base`` with ``canary``."""
    return {
        "scopes": {
            "default": {
                "controlScope": {
                    "scope": "base",
                    "location": "local",
                    "start": start,
                    "end": end,
                    "step": 60,
                },
                "experimentScope": {
                    "scope": "canary",
                    "location": "local",
                    "start": start,
                    "end": end,
                    "step": 60,
                },
            }
        },
        "thresholds": {"pass": 75, "marginal": 50},
    }


MakeClient = Callable[..., SyncClient]
