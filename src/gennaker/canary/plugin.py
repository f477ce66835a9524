"""The canary package's built-in plugin: the Prometheus accounts from the settings, and the
``kayentaCanary`` stage with its interval stages."""

from __future__ import annotations

from typing import Any

from gennaker.canary import stage
from gennaker.canary.settings import canary_settings
from gennaker.canary.sources.base import MetricSourceRegistry
from gennaker.canary.sources.prometheus import PrometheusMetricSource
from gennaker.hookspecs import hookimpl


@hookimpl
def register_metric_sources(registry: MetricSourceRegistry, settings: Any) -> None:
    """One source per configured account."""
    for account in canary_settings(settings).accounts:
        registry.add(
            PrometheusMetricSource(
                account.name,
                account.endpoint,
                scope_label=account.scope_label,
                timeout_s=account.timeout_seconds,
            )
        )


@hookimpl
def register_stages(registry: Any, settings: Any) -> None:
    """kayentaCanary, runCanaryIntervals and runCanary."""
    stage.register(registry, settings)
