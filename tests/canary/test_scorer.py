"""Group and summary scores (reference §5.4: Kayenta's ScorerSuite)."""

from __future__ import annotations

from typing import Any

import pytest

from gennaker.canary.scorer import classify_score, round_half_up, score


def r(classification: str, *groups: str, critical: bool = False) -> dict[str, Any]:
    return {"classification": classification, "groups": list(groups) or ["g"], "critical": critical}


@pytest.mark.parametrize(
    ("results", "weights", "expected"),
    [
        ([r("Pass")], {}, 100.0),
        ([r("High")], {}, 0.0),
        ([r("Nodata")], {}, 0.0),
        ([r("Pass", "g1"), r("Pass", "g1"), r("Nodata", "g2")], {}, 100.0),
        ([r("Pass"), r("High")], {}, 50.0),
        ([r("Pass"), r("High"), r("Low")], {}, 33.33),
        ([r("Pass", "g1"), r("Pass", "g1"), r("High", "g2")], {"g1": 75, "g2": 25}, 75.0),
        ([r("Pass", "g1"), r("High", "g1"), r("High", "g2")], {"g1": 50, "g2": 50}, 25.0),
        ([r("Pass", "g1"), r("Nodata", "g1"), r("High", "g2")], {"g1": 50, "g2": 50}, 50.0),
        ([r("Pass"), r("High", critical=True)], {}, 0.0),
        ([r("Low"), r("Pass", critical=True)], {}, 50.0),
        ([r("Pass"), r("Nodata", critical=True)], {}, 0.0),
        ([r("High", "g1"), r("Low", "g1"), r("Pass", "g1"), r("High", "g2")], {"g1": 15, "g2": 85}, 5.0),
    ],
)
def test_scorer_suite(results: list[dict[str, Any]], weights: dict[str, float], expected: float) -> None:
    assert score(results, weights).score == expected


def test_nodata_group_scores_zero_but_weighs_as_full() -> None:
    result = score([r("Pass", "g1"), r("Pass", "g1"), r("Nodata", "g2")], {})
    assert [(g.name, g.score, g.no_data) for g in result.groups] == [("g1", 100.0, False), ("g2", 0.0, True)]


def test_reasons() -> None:
    critical = {"classification": "High", "groups": ["g"], "critical": True, "classificationReason": "why"}
    assert score([critical], {}).reason == "Canary Failed: why"
    assert score([r("Nodata"), r("Pass")], {}).reason == "Canary Failed: 50% or more metrics returned NODATA"
    assert score([r("Pass")], {}).reason is None


def test_weights_are_not_normalised() -> None:
    assert score([r("Pass", "a")], {"a": 50, "b": 50}).score == 50.0
    # A metric with no groups never counts.
    assert score([{"classification": "Pass", "groups": []}, r("High", "a")], {}).score == 0.0


def test_error_is_left_out_of_the_group_ratio() -> None:
    assert score([r("Pass"), r("Error")], {}).score == 100.0
    assert score([r("Pass"), r("NodataFailMetric")], {}).score == 50.0


def test_summary_classification_boundaries() -> None:
    assert classify_score(75, 75, 50) == "Pass"
    assert classify_score(50, 75, 50) == "Marginal"
    assert classify_score(49.99, 75, 50) == "Fail"


def test_round_half_up_on_the_decimal_form() -> None:
    assert round_half_up(2.675) == 2.68  # binary 2.67499999..., decimal "2.675"
    assert round_half_up(100 / 3) == 33.33
