"""Prometheus as a metric source: Kayenta's query building, then ``/api/v1/query_range`` over the
scope's start, end and step. Each returned series is one MetricSet tagged with its labels (without
``__name__``), its points placed on the step grid with NaN where Prometheus has none."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from gennaker.canary.sources.base import CanaryScope, Json, MetricSet, MetricSourceError
from gennaker.canary.sources.promql import QUERY_FIELDS, QueryError, build_query
from gennaker.errors import FieldError, InvalidInput

_SPECIAL = {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}


def _iso_seconds(ms: int) -> str:
    return f"{ms / 1000:.3f}"


@dataclass
class PrometheusMetricSource:
    """One Prometheus server as a metrics account."""

    name: str
    endpoint: str
    scope_label: str = "instance"
    timeout_s: float = 30.0
    type: str = "prometheus"

    def validate_query(self, query: Mapping[str, Any], path: str) -> list[FieldError]:
        """Unknown fields, wrong types, the deprecated ``customFilter``."""
        errors = [
            FieldError(f"{path}.{key}", "is not a field of a prometheus query")
            for key in query
            if key not in QUERY_FIELDS
        ]
        for key in ("labelBindings", "groupByFields"):
            value = query.get(key)
            if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                errors.append(FieldError(f"{path}.{key}", "must be a list of strings"))
        for key in ("metricName", "customInlineTemplate", "customFilterTemplate", "resourceType"):
            value = query.get(key)
            if value is not None and not isinstance(value, str):
                errors.append(FieldError(f"{path}.{key}", "must be a string"))
        if query.get("customFilter") is not None:
            errors.append(
                FieldError(f"{path}.customFilter", "is deprecated, use customInlineTemplate instead")
            )
        if (
            not query.get("metricName")
            and not query.get("customInlineTemplate")
            and not query.get("customFilterTemplate")
        ):
            errors.append(FieldError(f"{path}.metricName", "is required (or a PromQL: template)"))
        return errors

    def query_for(self, config: Mapping[str, Any], metric: Mapping[str, Any], scope: CanaryScope) -> str:
        """The PromQL for a metric and scope (InvalidInput naming the query field at fault)."""
        try:
            return build_query(config, metric.get("query") or {}, scope, self.scope_label)
        except QueryError as exc:
            raise InvalidInput(
                f"metric '{metric.get('name')}': {exc}",
                [FieldError(f"query.{exc.field}", str(exc))],
            ) from None

    async def fetch(
        self, config: Mapping[str, Any], metric: Mapping[str, Any], scope: CanaryScope
    ) -> list[MetricSet]:
        """Run the range query."""
        query = self.query_for(config, metric, scope)
        params = {
            "query": query,
            "start": _iso_seconds(scope.start_ms),
            "end": _iso_seconds(scope.end_ms),
            "step": str(scope.step_s),
        }
        url = self.endpoint.rstrip("/") + "/api/v1/query_range"
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.get(url, params=params)
        except httpx.HTTPError as exc:
            raise MetricSourceError(
                f"Prometheus account '{self.name}' at {self.endpoint} failed: {exc!s}"
            ) from None
        return self._parse(response, metric, scope, query)

    def _parse(
        self, response: httpx.Response, metric: Mapping[str, Any], scope: CanaryScope, query: str
    ) -> list[MetricSet]:
        try:
            body = response.json()
        except ValueError:
            raise MetricSourceError(
                f"Prometheus account '{self.name}' answered {response.status_code} with a body that is not JSON"
            ) from None
        if response.status_code != 200 or not isinstance(body, dict) or body.get("status") != "success":
            detail = body.get("error") if isinstance(body, dict) else None
            raise MetricSourceError(
                f"Prometheus account '{self.name}' refused the query ({response.status_code}): {detail or 'no detail'}"
            )
        step_ms = scope.step_s * 1000
        expected = scope.expected_points
        name = str(metric.get("name"))
        sets = []
        for series in (body.get("data") or {}).get("result") or []:
            tags = {k: str(v) for k, v in (series.get("metric") or {}).items() if k != "__name__"}
            values = [math.nan] * expected
            for stamp, text in series.get("values") or []:
                index = (round(float(stamp) * 1000) - scope.start_ms) // step_ms if step_ms else 0
                if 0 <= index < expected:
                    values[index] = _SPECIAL[text] if text in _SPECIAL else float(text)
            sets.append(
                MetricSet(name, tags, values, scope.start_ms, scope.end_ms, step_ms, {"query": query})
            )
        if not sets:
            sets.append(MetricSet(name, {}, [], scope.start_ms, scope.end_ms, step_ms, {"query": query}))
        return sets

    async def metadata(self, filter_text: str | None) -> list[Json]:
        """Metric names (``/api/v1/label/__name__/values``), filtered case-insensitively."""
        url = self.endpoint.rstrip("/") + "/api/v1/label/__name__/values"
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.get(url)
            names = response.json().get("data") or []
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            raise MetricSourceError(f"Prometheus account '{self.name}' failed: {exc!s}") from None
        wanted = (filter_text or "").lower()
        return [{"name": n} for n in names if isinstance(n, str) and wanted in n.lower()]

    def credentials(self) -> Json:
        """Kayenta's PrometheusManagedAccount as ``/credentials`` lists it (no secrets)."""
        return {
            "name": self.name,
            "supportedTypes": ["METRICS_STORE"],
            "endpoint": {"baseUrl": self.endpoint},
            "type": self.type,
            "locations": [],
            "recommendedLocations": [],
        }
