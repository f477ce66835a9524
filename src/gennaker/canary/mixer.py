"""Pairing control and experiment series (Kayenta's MetricSetMixerService): by tag map, a side
with no series for a tag map gets an empty one, and each side is padded with NaN to the number of
points its scope should have."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from typing import Any

from gennaker.canary.sources.base import MetricSet
from gennaker.canary.store import iso

Json = dict[str, Any]


def _padded(metric_set: MetricSet, expected: int) -> list[float | None]:
    values: list[float | None] = [None if math.isnan(v) else v for v in metric_set.values]
    values.extend([None] * (expected - len(values)))
    return values


def _scope(metric_set: MetricSet) -> Json:
    return {
        "startTimeIso": iso(metric_set.start_ms),
        "startTimeMillis": metric_set.start_ms,
        "stepMillis": metric_set.step_ms,
    }


def _expected(metric_set: MetricSet) -> int:
    return (metric_set.end_ms - metric_set.start_ms) // metric_set.step_ms if metric_set.step_ms else 0


def _empty_like(template: MetricSet, tags: dict[str, str]) -> MetricSet:
    return MetricSet(template.name, tags, [], template.start_ms, template.end_ms, template.step_ms)


def mix_one(control: MetricSet, experiment: MetricSet) -> Json:
    """One MetricSetPair (missing points are JSON null, as Kayenta's NaN reaches Deck)."""
    pair: dict[str, Any] = {
        "name": control.name,
        "id": str(uuid.uuid4()),
        "tags": dict(control.tags),
        "values": {
            "control": _padded(control, _expected(control)),
            "experiment": _padded(experiment, _expected(experiment)),
        },
        "scopes": {"control": _scope(control), "experiment": _scope(experiment)},
        "attributes": {},
    }
    if control.attributes:
        pair["attributes"]["control"] = dict(control.attributes)
    if experiment.attributes:
        pair["attributes"]["experiment"] = dict(experiment.attributes)
    return pair


def mix_metric(controls: Sequence[MetricSet], experiments: Sequence[MetricSet]) -> list[Json]:
    """All pairs of one metric."""
    control_tags = [dict(m.tags) for m in controls]
    experiment_tags = [dict(m.tags) for m in experiments]
    control_empty = {} in control_tags
    experiment_empty = {} in experiment_tags
    if control_empty and not experiment_empty:
        return [mix_one(_empty_like(controls[0], dict(e.tags)), e) for e in experiments]
    if experiment_empty and not control_empty:
        return [mix_one(c, _empty_like(experiments[0], dict(c.tags))) for c in controls]
    pairs = []
    seen: list[dict[str, str]] = []
    for tags in control_tags + experiment_tags:
        if tags in seen:
            continue
        seen.append(tags)
        control = next((m for m in controls if dict(m.tags) == tags), _empty_like(controls[0], tags))
        experiment = next((m for m in experiments if dict(m.tags) == tags), _empty_like(experiments[0], tags))
        pairs.append(mix_one(control, experiment))
    return pairs
