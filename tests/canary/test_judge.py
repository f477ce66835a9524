"""NetflixACAJudge-v1.0 end to end on metric set pairs: cleaning, classification, scoring and
Kayenta's result JSON."""

from __future__ import annotations

from typing import Any

import pytest

from gennaker.canary.judge import JudgeError, judge


def metric(name: str, groups: list[str], **canary: Any) -> dict[str, Any]:
    return {
        "name": name,
        "query": {"type": "memory", "metricName": name},
        "groups": groups,
        "analysisConfigurations": {"canary": canary},
    }


def pair(name: str, control: list[Any], experiment: list[Any], pair_id: str = "p") -> dict[str, Any]:
    return {
        "name": name,
        "id": pair_id,
        "tags": {"pod": "a"},
        "values": {"control": control, "experiment": experiment},
    }


def config(*metrics: dict[str, Any], weights: dict[str, float] | None = None) -> dict[str, Any]:
    return {"name": "c", "metrics": list(metrics), "classifier": {"groupWeights": weights or {}}}


def test_result_has_kayentas_shape() -> None:
    cfg = config(
        metric("errors", ["e"], direction="increase"), metric("latency", ["l"]), weights={"e": 60, "l": 40}
    )
    result = judge(
        cfg,
        [
            pair("errors", [1, 2, 1, 2, 1], [20, 22, 21, 25, 30], "1"),
            pair("latency", [5, 6, 7], [5, 6, 7], "2"),
        ],
        75,
        50,
    )
    assert list(result) == ["judgeName", "results", "groupScores", "score"]
    assert result["judgeName"] == "NetflixACAJudge-v1.0"
    assert result["score"] == {"score": 40.0, "classification": "Fail", "classificationReason": ""}
    assert result["groupScores"] == [
        {"name": "e", "score": 0.0, "classification": "", "classificationReason": ""},
        {"name": "l", "score": 100.0, "classification": "", "classificationReason": ""},
    ]
    errors = result["results"][0]
    assert list(errors) == [
        "name", "tags", "id", "classification", "classificationReason", "groups",
        "experimentMetadata", "controlMetadata", "resultMetadata", "critical", "muted",
    ]  # fmt: skip
    assert errors["classification"] == "High"
    assert errors["classificationReason"] == "errors was classified as High"
    assert errors["experimentMetadata"]["stats"]["count"] == 5
    assert errors["controlMetadata"]["stats"] == {
        "min": 1.0,
        "max": 2.0,
        "mean": 1.4,
        "std": pytest.approx(0.5477, abs=1e-4),
        "count": 5,
    }
    assert errors["resultMetadata"]["ratio"] == pytest.approx(118 / 7)
    latency = result["results"][1]
    assert latency["classificationReason"] == "The Canary and Baseline data are identical"


def test_null_is_a_missing_point_and_the_nan_strategy_decides() -> None:
    removed = judge(config(metric("m", ["g"])), [pair("m", [None, None], [None])], 75, 50)
    assert removed["results"][0]["classification"] == "Nodata"
    assert removed["score"]["classificationReason"] == "Canary Failed: 50% or more metrics returned NODATA"
    replaced = judge(
        config(metric("m", ["g"], nanStrategy="replace")), [pair("m", [None, 1], [None, 1])], 75, 50
    )
    assert replaced["results"][0]["classification"] == "Pass"
    assert replaced["results"][0]["controlMetadata"]["stats"]["count"] == 2


def test_muted_metric_is_reported_but_not_scored() -> None:
    cfg = config(metric("bad", ["g"], muted=True), metric("good", ["g"]))
    result = judge(
        cfg, [pair("bad", [1, 2, 1, 2, 1], [20, 22, 21, 25, 30]), pair("good", [1, 2], [1, 2])], 75, 50
    )
    assert [r["muted"] for r in result["results"]] == [True, False]
    assert result["results"][0]["classification"] == "High"
    assert result["score"]["score"] == 100.0


def test_zero_mean_ratio_is_written_as_jackson_writes_nan() -> None:
    result = judge(config(metric("m", ["g"])), [pair("m", [0, 0, 0, 0, 0], [0, 1, 2, 1, 0, 0])], 75, 50)
    assert result["results"][0]["resultMetadata"] == {"ratio": "NaN"}


def test_outlier_removal_happens_before_the_stats() -> None:
    cfg = config(metric("m", ["g"], outliers={"strategy": "remove", "outlierFactor": 1.5}))
    data = [10.0] * 20 + [11.0] * 20 + [1000.0]
    result = judge(cfg, [pair("m", data, data[:-1])], 75, 50)
    assert result["results"][0]["controlMetadata"]["stats"]["count"] == 40


def test_a_pair_without_a_metric_config_fails_the_whole_judgment() -> None:
    with pytest.raises(JudgeError, match="Could not find metric config for other"):
        judge(config(metric("m", ["g"])), [pair("other", [1], [1])], 75, 50)


def test_a_string_boolean_fails_the_whole_judgment() -> None:
    with pytest.raises(JudgeError, match="critical must be true or false"):
        judge(config(metric("m", ["g"], critical="true")), [pair("m", [1], [2])], 75, 50)


def test_critical_metric_short_circuits() -> None:
    cfg = config(metric("m", ["g"], critical=True), metric("ok", ["g"]))
    result = judge(cfg, [pair("m", [1, 2, 1, 2, 1], [20, 22, 21, 25, 30]), pair("ok", [1], [1])], 75, 50)
    assert result["results"][0]["critical"] is True
    assert result["score"] == {
        "score": 0.0,
        "classification": "Fail",
        "classificationReason": "Canary Failed: The metric m was classified as High (Critical)",
    }


def test_two_constants_judged_again_give_the_same_numbers() -> None:
    cfg = config(metric("m", ["g"]))
    pairs = [pair("m", [1] * 5, [10] * 5)]
    first, second = judge(cfg, pairs, 75, 50), judge(cfg, pairs, 75, 50)
    assert first == second
    assert first["results"][0]["classification"] == "High"
