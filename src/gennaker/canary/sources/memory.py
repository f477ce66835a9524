"""An in-memory metric source: series given up front per metric name and scope (tests, demos,
replaying recorded data). ``failing`` makes every fetch fail, as a source that is down."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gennaker.canary.sources.base import CanaryScope, Json, MetricSet, MetricSourceError
from gennaker.errors import FieldError

#: (metric name, scope) -> list of (tags, values)
Series = Mapping[tuple[str, str], Sequence[tuple[Mapping[str, str], Sequence[float | None]]]]


@dataclass
class MemoryMetricSource:
    """Series by ``(query.metricName or metric name, scope)``; absent ones come back empty."""

    name: str = "memory"
    series: Series = field(default_factory=dict)
    failing: str | None = None
    type: str = "memory"

    def validate_query(self, query: Mapping[str, Any], path: str) -> list[FieldError]:
        """The fields a Prometheus query has (templates are checked, not used)."""
        known = ("type", "serviceType", "metricName", "customFilterTemplate", "customInlineTemplate")
        return [
            FieldError(f"{path}.{key}", "is not a field of a memory query")
            for key in query
            if key not in known
        ]

    async def fetch(
        self, config: Mapping[str, Any], metric: Mapping[str, Any], scope: CanaryScope
    ) -> list[MetricSet]:
        """The stored series, with None as NaN."""
        if self.failing:
            raise MetricSourceError(self.failing)
        query = metric.get("query") or {}
        key = str(query.get("metricName") or metric.get("name"))
        found = self.series.get((key, scope.scope), [])
        step_ms = scope.step_s * 1000
        if not found:
            return [MetricSet(str(metric.get("name")), {}, [], scope.start_ms, scope.end_ms, step_ms)]
        return [
            MetricSet(
                str(metric.get("name")),
                dict(tags),
                [math.nan if v is None else float(v) for v in values],
                scope.start_ms,
                scope.end_ms,
                step_ms,
            )
            for tags, values in found
        ]

    async def metadata(self, filter_text: str | None) -> list[Json]:
        """The metric names held."""
        names = sorted({name for name, _ in self.series})
        return [{"name": n} for n in names if not filter_text or filter_text in n]

    def credentials(self) -> Json:
        """Kayenta's AccountCredentials shape."""
        return {
            "name": self.name,
            "supportedTypes": ["METRICS_STORE"],
            "type": self.type,
            "locations": [],
            "recommendedLocations": [],
        }
