"""Group and summary scores: Kayenta's WeightedSumScorer, ScoringHelper and ThresholdScoreClassifier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

NODATA_THRESHOLD = 50
_COUNTED = ("Pass", "High", "Low", "NodataFailMetric")


@dataclass(frozen=True)
class GroupScore:
    """One group's score; ``no_data`` when none of its metrics counted (it then weighs as 100)."""

    name: str
    score: float
    no_data: bool


@dataclass(frozen=True)
class ScoreResult:
    """The weighted sum, the group scores and the reason of a short-circuit."""

    groups: list[GroupScore]
    score: float
    reason: str | None


def round_half_up(value: float, places: int = 2) -> float:
    """commons-math's Precision.round: the decimal representation rounded half up."""
    if value != value or value in (float("inf"), float("-inf")):
        return value
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def group_scores(results: Sequence[Mapping[str, Any]]) -> list[GroupScore]:
    """Each metric counts in every group it lists; Nodata and Error are left out of the ratio."""
    labels: dict[str, list[str]] = {}
    for result in results:
        for group in result.get("groups") or []:
            labels.setdefault(group, []).append(result["classification"])
    scores = []
    for name, group_labels in labels.items():
        passed = group_labels.count("Pass")
        total = sum(group_labels.count(label) for label in _COUNTED)
        if total == 0:
            scores.append(GroupScore(name, 0.0, True))
        else:
            scores.append(GroupScore(name, passed / float(total) * 100, False))
    return scores


def weighted_sum(groups: Sequence[GroupScore], weights: Mapping[str, float]) -> float:
    """Configured weights as given; groups without one share what is left of 100 (not normalised)."""
    unweighted = {g.name for g in groups} - set(weights)
    share = (100 - sum(weights.values())) / len(unweighted) if unweighted else 0.0
    total = 0.0
    for group in groups:
        effective = 100.0 if group.no_data else group.score
        weight = float(weights.get(group.name, share))
        total += effective * (weight / 100)
    return round_half_up(total, 2)


def score(results: Sequence[Mapping[str, Any]], weights: Mapping[str, float]) -> ScoreResult:
    """Critical failures first, then the NODATA rule, then the weighted sum (results not muted)."""
    groups = group_scores(results)
    failures = [r for r in results if r.get("critical") and r["classification"] != "Pass"]
    if failures:
        reason = failures[0].get("classificationReason")
        return ScoreResult(groups, 0.0, f"Canary Failed: {'null' if reason is None else reason}")
    nodata = sum(1 for r in results if r["classification"] == "Nodata")
    if results and nodata / len(results) * 100 >= NODATA_THRESHOLD:
        return ScoreResult(groups, 0.0, f"Canary Failed: {NODATA_THRESHOLD}% or more metrics returned NODATA")
    if not results:
        # Kayenta divides 0 by 0 here (NaN >= 50 is false) and sums no groups: 0.
        return ScoreResult(groups, 0.0, None)
    return ScoreResult(groups, weighted_sum(groups, weights), None)


def classify_score(value: float, pass_threshold: float, marginal_threshold: float) -> str:
    """ThresholdScoreClassifier: Pass at or above pass, Marginal at or above marginal, else Fail."""
    if value >= pass_threshold:
        return "Pass"
    if value >= marginal_threshold:
        return "Marginal"
    return "Fail"
