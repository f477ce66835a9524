"""Statistics, effect sizes, transforms and detectors (reference §5.3: Kayenta's StatisticSuite,
TransformSuite and DetectorSuite)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gennaker.canary import stats

E = 1e-4


def a(*values: float) -> np.ndarray:
    return np.array(values, dtype=float)


def test_summary_statistics() -> None:
    one = stats.summary(a(4))
    assert (one.min, one.max, one.mean, one.std, one.count) == (4, 4, 4, 0, 1)
    six = stats.summary(a(1, 1, 1, 10, 10, 10))
    assert six.mean == 5.5
    assert six.std == pytest.approx(4.9295, abs=E)
    assert stats.summary(np.empty(0)).to_json() == {
        "min": 0.0,
        "max": 0.0,
        "mean": 0.0,
        "std": 0.0,
        "count": 0,
    }


def test_r7_percentiles() -> None:
    halves = np.arange(0, 4, 0.5)
    assert stats.percentile(halves, 5) == pytest.approx(0.175)
    assert stats.percentile(halves, 50) == pytest.approx(1.75)
    assert stats.percentile(halves, 100) == 3.5
    assert stats.percentile(np.arange(10.0), 50) == 4.5
    nist = a(95.1772, 95.1567, 95.1937, 95.1959, 95.1442, 95.0610, 95.1591, 95.1195, 95.1772, 95.0925,
             95.1990, 95.1682)  # fmt: skip
    assert stats.percentile(nist, 90) == pytest.approx(95.19568, abs=1e-5)
    assert math.isnan(stats.percentile(np.empty(0), 50))


def test_mean_ratio_and_cohen_d() -> None:
    assert stats.mean_ratio(np.ones(5), np.full(5, 10.0)) == 10
    assert stats.mean_ratio(np.full(5, 100.0), np.full(5, 10.0)) == pytest.approx(0.1)
    assert math.isnan(stats.mean_ratio(np.zeros(5), np.ones(5)))
    assert stats.cohen_d(a(1, 1, 1, 2, 2, 2), a(5, 5, 5, 10, 10, 10)) == pytest.approx(3.03821, abs=E)


def test_cles() -> None:
    data = a(1, 2, 3, 4)
    assert stats.cles(data, data) == 0.5
    assert stats.cles(a(10, 11, 12), a(1, 2, 3)) == 0.0
    assert stats.cles(a(1, 2, 3), a(10, 11, 12)) == 1.0
    # A tie counts half: P(E > C) + P(tie) / 2.
    assert stats.cles(a(1, 2), a(2, 3)) == pytest.approx((3 + 0.5) / 4)


def test_nan_transforms() -> None:
    assert stats.remove_nans(a(0, 1, math.nan, 1, 0)).tolist() == [0, 1, 1, 0]
    replaced = stats.replace_nans(a(math.nan, 10.1, 20.2, 30.3, math.nan, 40.4))
    assert replaced.tolist() == [0, 10.1, 20.2, 30.3, 0, 40.4]
    assert stats.remove_nans(a(math.inf, math.nan)).tolist() == [math.inf]


def test_iqr_detector() -> None:
    flagged = stats.iqr_outliers(a(21, 23, 24, 25, 50, 29, 23, 21), 1.5)
    assert flagged.tolist() == [False, False, False, False, True, False, False, False]
    both = stats.iqr_outliers(a(1, 1, 1, 5, -1, -1, -1, -5), 1.5)
    assert both.tolist() == [False, False, False, True, False, False, False, True]
    with pytest.raises(ValueError, match="greater than zero"):
        stats.iqr_outliers(a(1, 2), 0)


def test_reduced_sensitivity_widens_the_fences_to_p1_p99() -> None:
    data = np.concatenate((np.arange(100.0), [300.0]))
    assert stats.iqr_outliers(data, 0.1).sum() > 1
    # With reduced sensitivity the fences are at least P1 and P99: only beyond them is dropped.
    kept = stats.remove_outliers(data, 0.1)
    assert 300.0 not in kept.tolist()
    assert kept.size >= data.size - 2


def test_ksigma_detector() -> None:
    data = np.array([1.0] * 5 + [20.0] + [1.0] * 5)
    assert stats.ksigma_outliers(data, 3).tolist() == [False] * 5 + [True] + [False] * 5
