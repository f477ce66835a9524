"""What the API and the stages call: the metric source registry built from the plugins, config
validation against it, and canary runs stored with their inputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import anyio.to_thread
import pluggy

from gennaker.canary.configs import QueryValidator, prepared
from gennaker.canary.runner import RunOptions, run_canary
from gennaker.canary.sources.base import MetricSourceRegistry
from gennaker.canary.sources.prometheus import PrometheusMetricSource
from gennaker.canary.store import (
    CanaryExecutionRepository,
    MetricSetPairListRepository,
)
from gennaker.clock import Clock
from gennaker.config import Settings
from gennaker.db import Database


@runtime_checkable
class Services(Protocol):
    """What canary runs use: the settings, clock and database, and the plugins that register
    metric sources (the composition root provides all four)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def db(self) -> Database: ...
    @property
    def plugins(self) -> pluggy.PluginManager: ...


Json = dict[str, Any]


def metric_sources(services: Services) -> MetricSourceRegistry:
    """The metrics accounts every ``register_metric_sources`` hook adds."""
    registry = MetricSourceRegistry()
    services.plugins.hook.register_metric_sources(registry=registry, settings=services.settings)
    return registry


def query_validators(registry: MetricSourceRegistry) -> Mapping[str, QueryValidator]:
    """One query validator per query type."""
    # Prometheus queries are checked even where no Prometheus account is configured yet, so that a
    # config can be written before its account exists (a run then says which account is missing).
    found: dict[str, QueryValidator] = {"prometheus": PrometheusMetricSource("", "").validate_query}
    for source in registry.all():
        found.setdefault(source.type, source.validate_query)
    return found


def prepare_config(services: Services, config: Any, *, path: str = "$") -> Json:
    """A config checked against the configured metric sources, with an id."""
    return prepared(config, query_validators(metric_sources(services)), path=path)


async def execute(
    services: Services, config: Json, request: Json, options: RunOptions, *, execution_id: str | None = None
) -> Json:
    """Run a canary and store the pairs and the status response; returns the response."""
    body, pairs = await run_canary(
        metric_sources(services), config, request, options, services.clock, execution_id=execution_id
    )

    def save() -> None:
        now = services.clock.now_ms()
        with services.db.transaction() as conn:
            MetricSetPairListRepository().save(conn, body["metricSetPairListId"], pairs, now)
            CanaryExecutionRepository().save(conn, "canary", body, now)

    await anyio.to_thread.run_sync(save)
    return body
