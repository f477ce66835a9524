"""Kayenta's MannWhitneyClassifier on the cases of its ClassifierSuite and two issue threads
(reference §5.2)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gennaker.canary.classifier import Classification as C
from gennaker.canary.classifier import Direction, MannWhitneyClassifier

E = 1e-6
HIGH_E = np.array([20.0, 22, 21, 25, 30])
HIGH_C = np.array([1.0, 2.2, 1.1, 2.5, 3])


def a(*values: float) -> np.ndarray:
    return np.array(values, dtype=float)


def classifier(**kwargs: float | str) -> MannWhitneyClassifier:
    base: dict[str, float | str] = {"tolerance": 0.10, "conf_level": 0.95}
    base.update(kwargs)
    return MannWhitneyClassifier(**base)  # type: ignore[arg-type]


def test_mean_ratio_high() -> None:
    result = classifier(allowed_decrease=0.8, allowed_increase=1.2).classify("m", HIGH_C, HIGH_E)
    assert result.classification == C.HIGH
    assert result.reason == "m was classified as High"
    assert result.lower == pytest.approx(17.800044, abs=E)
    assert result.upper == pytest.approx(27.799943, abs=E)
    assert result.estimate == pytest.approx(20.0, abs=1e-4)
    assert result.deviation == pytest.approx(12.0408163, abs=E)
    assert not result.critical


@pytest.mark.parametrize(
    ("kwargs", "expected", "critical"),
    [
        ({"critical_decrease": 1.0, "critical_increase": 1.2}, C.HIGH, True),
        (
            {
                "allowed_decrease": 1.0,
                "allowed_increase": 5.0,
                "critical_decrease": 1,
                "critical_increase": 13,
            },
            C.HIGH,
            False,
        ),
        (
            {
                "allowed_decrease": 1.0,
                "allowed_increase": 13,
                "critical_decrease": 1,
                "critical_increase": 15,
            },
            C.PASS,
            False,
        ),
        ({}, C.HIGH, True),
    ],
)
def test_critical_effect_sizes(kwargs: dict[str, float], expected: C, critical: bool) -> None:
    result = classifier(**kwargs).classify("m", HIGH_C, HIGH_E, critical=True)
    assert result.classification == expected
    assert result.critical is critical
    if critical:
        assert result.reason == "The metric m was classified as High (Critical)"


def test_judge_defaults_on_the_high_case() -> None:
    result = MannWhitneyClassifier(0.25, 0.98).classify("m", HIGH_C, HIGH_E)
    assert result.classification == C.HIGH
    assert result.lower == pytest.approx(17.000075, abs=E)
    assert result.upper == pytest.approx(28.999922, abs=E)


def test_mean_ratio_pass() -> None:
    result = classifier(allowed_decrease=0.5, allowed_increase=1.0).classify(
        "m", a(20, 22, 21, 25, 30), a(10, 12.2, 10.1, 12.5, 23)
    )
    assert result.classification == C.PASS
    assert result.reason is None
    assert result.lower == pytest.approx(-17.799962, abs=E)
    assert result.upper == pytest.approx(0.999948, abs=E)
    assert result.deviation == pytest.approx(0.5745763, abs=E)


def test_critical_low() -> None:
    result = classifier(critical_decrease=1.2, critical_increase=1.0).classify(
        "m", a(10, 20.2, 10.1, 20.5, 30), a(2, 2, 2, 2, 3), critical=True
    )
    assert result.classification == C.LOW
    assert result.critical
    assert result.reason == "The metric m was classified as Low (Critical)"
    assert result.lower == pytest.approx(-27.999942, abs=E)
    assert result.upper == pytest.approx(-7.999954, abs=E)
    assert result.deviation == pytest.approx(0.1211454, abs=E)


def test_single_value_in_both_samples_passes() -> None:
    result = classifier().classify("m", a(1, 1), a(1, 1, 1), direction=Direction.DECREASE)
    assert result.classification == C.PASS
    assert result.deviation == 1.0


def test_identical_populations_pass_with_a_reason() -> None:
    result = classifier().classify("m", a(5, 4, 3, 2, 1), a(1, 2, 3, 4, 5), direction=Direction.DECREASE)
    assert result.classification == C.PASS
    assert result.reason == "The Canary and Baseline data are identical"


def test_leading_zero() -> None:
    result = classifier().classify("m", a(1, 1, 1, 1, 1), a(0, 1, 1, 1, 1), direction=Direction.DECREASE)
    assert result.classification == C.PASS
    assert result.lower == pytest.approx(-0.999941, abs=E)
    assert result.upper == pytest.approx(0.0, abs=E)


def test_majority_tied() -> None:
    result = classifier().classify("m", a(1, 1, 1, 1, 1), a(1, 1, 1, 1, 10))
    assert result.classification == C.PASS
    assert result.upper == pytest.approx(8.999933, abs=E)
    assert result.deviation == pytest.approx(2.8, abs=E)


def test_two_constants_get_noise_and_are_high() -> None:
    result = classifier().classify("m", np.ones(5), np.full(5, 10.0), rng=np.random.default_rng(1))
    assert result.classification == C.HIGH
    zeros = classifier().classify("m", np.zeros(5), np.full(5, 10.0), rng=np.random.default_rng(1))
    assert zeros.classification == C.HIGH
    assert math.isnan(zeros.deviation)


def test_zero_mean_control_high_and_swapped_low() -> None:
    data = a(54.9, 54.5, 55.1, 55.6, 57.4)
    high = classifier(allowed_decrease=0.8, allowed_increase=1.2).classify("m", np.zeros(5), data)
    assert high.classification == C.HIGH
    assert math.isnan(high.deviation)
    assert high.lower == pytest.approx(54.5, abs=E)
    assert high.upper == pytest.approx(57.4, abs=E)
    assert high.estimate == pytest.approx(55.100036, abs=E)
    low = classifier(allowed_decrease=0.8, allowed_increase=1.2).classify("m", data, np.zeros(5))
    assert low.classification == C.LOW
    assert math.isnan(low.deviation)


def test_all_zero_is_identical() -> None:
    result = classifier().classify("m", np.zeros(5), np.zeros(5))
    assert result.classification == C.PASS
    assert result.deviation == 1.0


def test_missing_data() -> None:
    control = a(1, 2, 3, 4, 5)
    empty = np.empty(0)
    nodata = classifier().classify("test-metric", control, empty, direction=Direction.DECREASE)
    assert (nodata.classification, nodata.critical) == (C.NODATA, False)
    assert nodata.reason == "Missing data for test-metric"
    critical = classifier().classify("m", control, empty, critical=True)
    assert (critical.classification, critical.critical) == (C.NODATA, True)
    replaced = classifier().classify("m", control, empty, nan_remove=False)
    assert replaced.classification == C.PASS
    both = classifier().classify("m", empty, empty, critical=True)
    assert both.reason
    required = classifier().classify("m", control, empty, must_have_data=True)
    assert required.classification == C.NODATA_FAIL_METRIC
    required_critical = classifier().classify("m", control, empty, must_have_data=True, critical=True)
    assert (required_critical.classification, required_critical.critical) == (C.NODATA, True)


def test_direction_limits_which_side_fails() -> None:
    assert classifier().classify("m", HIGH_C, HIGH_E, direction=Direction.DECREASE).classification == C.PASS
    assert classifier().classify("m", HIGH_E, HIGH_C, direction=Direction.INCREASE).classification == C.PASS
    assert classifier().classify("m", HIGH_E, HIGH_C, direction=Direction.DECREASE).classification == C.LOW
    assert Direction.parse("sideways") is Direction.EITHER


def test_issue_6278_huge_effect_still_passes() -> None:
    judge = MannWhitneyClassifier(0.25, 0.98, allowed_decrease=1.0, allowed_increase=1.05)
    result = judge.classify("m", np.ones(10), a(*([100] * 7 + [1] * 3)))
    assert result.classification == C.PASS
    assert result.deviation == pytest.approx(70.3, abs=E)
    assert 0.25 * abs(result.estimate or 0) == pytest.approx(24.749982260425483, abs=E)
    eight = judge.classify("m", np.ones(10), a(*([100] * 8 + [1] * 2)))
    assert eight.classification == C.HIGH
    assert eight.lower == pytest.approx(98.99993, abs=1e-5)
    assert eight.deviation == pytest.approx(80.2, abs=E)


def test_kayenta_426_sparse_errors_pass() -> None:
    result = MannWhitneyClassifier(0.25, 0.98).classify("m", np.zeros(6), a(0, 1, 2, 1, 0, 0))
    assert result.classification == C.PASS
    assert result.lower == pytest.approx(0.0, abs=E)
    assert result.upper == pytest.approx(2.0, abs=E)
    assert result.estimate == pytest.approx(0.8127, abs=1e-4)
    assert math.isnan(result.deviation)


def test_cles_effect_size_gates() -> None:
    high = MannWhitneyClassifier(0.2, 0.98, 0.2, 0.8, measure="cles")
    result = high.classify("m", a(1, 2, 3, 4, 5, 6), a(11, 12, 13, 14, 15, 16))
    assert result.classification == C.HIGH
    assert result.effect_size == 1.0
    # A big shift that the CLES gate lets through only above allowedIncrease.
    gated = MannWhitneyClassifier(0.2, 0.98, 0.2, 1.01, measure="cles")
    assert gated.classify("m", a(1, 2, 3, 4, 5, 6), a(11, 12, 13, 14, 15, 16)).classification == C.PASS
