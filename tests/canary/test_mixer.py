"""Pairing control and experiment series as Kayenta's MetricSetMixerService does."""

from __future__ import annotations

import math

from gennaker.canary.mixer import mix_metric
from gennaker.canary.sources.base import MetricSet

START = 1_767_225_600_000


def ms(tags: dict[str, str], values: list[float], points: int = 4) -> MetricSet:
    return MetricSet("m", tags, values, START, START + points * 60_000, 60_000)


def test_pairs_by_tags_and_pads_with_missing_points() -> None:
    pairs = mix_metric(
        [ms({"pod": "a"}, [1, 2]), ms({"pod": "b"}, [3])], [ms({"pod": "a"}, [5, math.nan, 6, 7])]
    )
    assert [p["tags"] for p in pairs] == [{"pod": "a"}, {"pod": "b"}]
    assert pairs[0]["values"] == {"control": [1, 2, None, None], "experiment": [5, None, 6, 7]}
    # No experiment series with pod=b: an empty one, all missing.
    assert pairs[1]["values"]["experiment"] == [None, None, None, None]
    assert pairs[0]["scopes"]["control"] == {
        "startTimeIso": "2026-01-01T00:00:00Z", "startTimeMillis": START, "stepMillis": 60_000
    }  # fmt: skip


def test_different_tag_values_give_two_half_empty_pairs() -> None:
    """kayenta #738: controller=...-baseline against controller=...-canary."""
    pairs = mix_metric(
        [ms({"controller": "x-baseline"}, [1, 2, 3, 4])], [ms({"controller": "x-canary"}, [1, 2, 3, 4])]
    )
    assert len(pairs) == 2
    assert pairs[0]["values"]["experiment"] == [None] * 4
    assert pairs[1]["values"]["control"] == [None] * 4


def test_an_untagged_side_takes_the_other_sides_tags() -> None:
    pairs = mix_metric([ms({}, [])], [ms({"pod": "a"}, [1]), ms({"pod": "b"}, [2])])
    assert [p["tags"] for p in pairs] == [{"pod": "a"}, {"pod": "b"}]
    assert pairs[0]["values"]["control"] == [None] * 4
