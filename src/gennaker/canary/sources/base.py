"""The metric source protocol, what it returns, and the registry of configured metrics accounts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gennaker.errors import FieldError, InvalidInput

Json = dict[str, Any]


class MetricSourceError(Exception):
    """A fetch failed (the source is down, refused the query, answered garbage); the metric is then
    classified Error with this message as its reason."""


@dataclass(frozen=True)
class CanaryScope:
    """One side of a comparison: Kayenta's CanaryScope (times in epoch ms, step in seconds)."""

    scope: str
    location: str | None
    start_ms: int
    end_ms: int
    step_s: int
    extended: Mapping[str, str] = field(default_factory=dict)

    @property
    def expected_points(self) -> int:
        """Kayenta's expectedDataPoints: how many steps fit between start and end."""
        step_ms = self.step_s * 1000
        return (self.end_ms - self.start_ms) // step_ms if step_ms > 0 else 0


@dataclass(frozen=True)
class MetricSet:
    """One series of one metric for one scope, tagged with its labels; NaN marks a missing point."""

    name: str
    tags: Mapping[str, str]
    values: Sequence[float]
    start_ms: int
    end_ms: int
    step_ms: int
    attributes: Mapping[str, str] = field(default_factory=dict)


class MetricSource(Protocol):
    """A metrics account: fetches the series a canary metric's query names."""

    #: The account name (``metricsAccountName``).
    name: str
    #: The query type it serves (``query.type``: ``prometheus``, ``memory``...).
    type: str

    def validate_query(self, query: Mapping[str, Any], path: str) -> list[FieldError]:
        """Problems of a metric's ``query`` object, with JSON paths."""
        ...

    async def fetch(
        self, config: Mapping[str, Any], metric: Mapping[str, Any], scope: CanaryScope
    ) -> list[MetricSet]:
        """The metric's series for a scope (one per label set; an empty list of values for none);
        raises MetricSourceError when the source fails, InvalidInput for a query that cannot be
        built."""
        ...

    async def metadata(self, filter_text: str | None) -> list[Json]:
        """Metric descriptors for the config editor (``/metadata/metricsService``)."""
        ...

    def credentials(self) -> Json:
        """The account as Kayenta's ``/credentials`` lists it."""
        ...


class MetricSourceRegistry:
    """The configured metrics accounts, filled through the ``register_metric_sources`` hook."""

    def __init__(self) -> None:
        self._sources: dict[str, MetricSource] = {}

    def add(self, source: MetricSource) -> None:
        """Register an account; a name may be taken once."""
        if source.name in self._sources and self._sources[source.name] is not source:
            raise ValueError(f"metrics account {source.name!r} is registered twice")
        self._sources[source.name] = source

    def all(self) -> list[MetricSource]:
        """Every account, in registration order."""
        return list(self._sources.values())

    def types(self) -> set[str]:
        """The query types some account serves."""
        return {s.type for s in self._sources.values()}

    def get(self, account: str | None, query_type: str | None = None) -> MetricSource:
        """The named account, or the only one serving ``query_type`` (as Kayenta's getRequiredOneBy)."""
        if account:
            source = self._sources.get(account)
            if source is None:
                known = ", ".join(sorted(self._sources)) or "none configured"
                raise InvalidInput(f"Unable to resolve metrics account '{account}' (known: {known}).")
            return source
        candidates = [s for s in self._sources.values() if query_type is None or s.type == query_type]
        if not candidates:
            raise InvalidInput(f"No metrics account serves query type '{query_type}'.")
        return candidates[0]
