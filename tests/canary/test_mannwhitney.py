"""Kayenta's Mann-Whitney interval and estimate (reference §5.1, §5.6): the cases whose data the
reference holds, to 1e-6 as Kayenta's MannWhitneySuite asserts."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from gennaker.canary.mannwhitney import MannWhitneyError, WilcoxonStatistic, mann_whitney, zeroin

E = 1e-6

M2_CONTROL = [
    1.5, 6, 5, 2.5, 2.5, 2, 2, 3.5, 3, 3, 3, 2, 3, 8, 4, 2.5, 3, 2.5, 2.5, 2, 2.5, 2, 2, 2.5, 3.5, 3, 1.5,
    5, 2.5, 5.5, 2, 2.5, 3.5, 2, 2.5, 4, 2, 2, 2, 2, 5.5, 4.5, 4, 3, 3, 3.5, 2.5, 3, 2.5, 4, 6, 2, 5, 6,
    3.5, 3, 54.5, 3, 5, 6, 3.5, 4.5, 2.5, 2, 6, 5, 2.5, 3.5, 2, 3, 2.5, 3.5, 3.5, 2.5, 3, 4.5, 3, 15.5, 5,
    2.5, 3, 4, 3.5, 4, 4, 2, 4.5, 2.5, 4, 3,
]  # fmt: skip
M2_EXPERIMENT = [
    2.5, 2.5, 2, 2.5, 3.5, 2, 3.5, 1.5, 3, 3, 2.5, 3.5, 2, 2.5, 2, 2, 5, 3, 2, 1.5, 2, 4, 3, 2.5, 3, 2, 2,
    2, 2.5, 3.5, 1.5, 1.5, 3.5, 2, 2.5, 2.5, 3, 3.5, 2.5, 6.5, 2.5, 4, 2.5, 3, 2.5, 6.5, 2.5, 3, 1.5, 2,
    2.5, 3, 7.5, 1.5, 2, 4, 2.5, 2, 2.5, 3.5, 4, 2.5, 3, 2.5, 2, 3.5, 3, 16.5, 3, 3, 7, 4.5, 5, 2, 3.5, 6,
    1.5, 3, 2.5, 4, 3, 1.5, 5, 3, 2.5, 5.5, 3, 1.5, 2.5, 6,
]  # fmt: skip


def test_z_quantiles_are_kayentas_to_the_last_bit() -> None:
    assert NormalDist().inv_cdf(0.02 / 2) == pytest.approx(-2.326348, abs=E)
    assert NormalDist().inv_cdf((1 - 0.95) / 2) == -1.9599639845400536


def test_m1_small_samples() -> None:
    result = mann_whitney(np.array([10.0, 20, 30, 40]), np.array([1.0, 2, 3, 4]), 0.95)
    assert result.lower == pytest.approx(6.0, abs=E)
    assert result.upper == pytest.approx(39.0, abs=E)
    assert result.estimate == pytest.approx(22.5, abs=E)


def test_m2_ties_out_with_r_and_keeps_the_continuity_correction_in_the_estimate() -> None:
    result = mann_whitney(np.array(M2_EXPERIMENT, float), np.array(M2_CONTROL, float), 0.95)
    assert result.lower == pytest.approx(-0.500002521696696, abs=E)
    assert result.upper == pytest.approx(-3.486287505871302e-5, abs=E)
    # R's estimate drops the correction (-0.49994); Kayenta's keeps it.
    assert result.estimate == pytest.approx(-0.4999393907180323, abs=1e-4)
    assert result.estimate == pytest.approx(-0.4999971087, abs=E)


def test_kayenta_is_asymptotic_where_r_would_be_exact() -> None:
    # §5.6: R's exact interval would be (17.5, 28.9); Kayenta's normal approximation is wider.
    result = mann_whitney(np.array([20.0, 22, 21, 25, 30]), np.array([1, 2.2, 1.1, 2.5, 3]), 0.98)
    assert result.lower == pytest.approx(17.000075, abs=E)
    assert result.upper == pytest.approx(28.999922, abs=E)
    assert result.estimate == pytest.approx(20.0, abs=1e-4)


def test_issue_6278_lopsided_data() -> None:
    experiment = np.array([100.0] * 7 + [1.0] * 3)
    result = mann_whitney(experiment, np.ones(10), 0.98)
    assert result.lower == pytest.approx(6.825022991538781e-5, abs=E)
    assert result.upper == pytest.approx(99.0, abs=E)
    assert result.estimate == pytest.approx(98.99992904170193, abs=E)


def test_all_observations_tied_cannot_give_an_interval() -> None:
    with pytest.raises(MannWhitneyError, match="all observations are tied"):
        WilcoxonStatistic(np.array([1.0, 1.0]), np.array([1.0, 1.0]))(0.0)


def test_statistic_is_the_rank_sum_of_a_full_ranking() -> None:
    """The binary-search rank sum agrees with ranking the pooled sample, ties and all."""
    rng = np.random.default_rng(7)
    x = rng.integers(0, 6, 40).astype(float)
    y = rng.integers(0, 6, 35).astype(float)
    stat = WilcoxonStatistic(x, y)
    for d in (-2.0, -0.5, 0.0, 1.0, 2.5):
        pooled = np.concatenate((x - d, y))
        order = np.argsort(pooled, kind="mergesort")
        ranks = np.empty(pooled.size)
        sorted_values = pooled[order]
        i = 0
        ties = 0.0
        while i < pooled.size:
            j = i
            while j + 1 < pooled.size and sorted_values[j + 1] == sorted_values[i]:
                j += 1
            ranks[order[i : j + 1]] = (i + j + 2) / 2
            t = j - i + 1
            ties += t**3 - t
            i = j + 1
        nx, ny = float(x.size), float(y.size)
        dz = ranks[: x.size].sum() - nx * (nx + 1) / 2 - nx * ny / 2
        sigma = math.sqrt((nx * ny / 12) * ((nx + ny + 1) - ties / ((nx + ny) * (nx + ny - 1))))
        expected = (dz - (0.0 if dz == 0 else math.copysign(0.5, dz))) / sigma
        assert stat(d) == expected


def test_zeroin_returns_an_endpoint_that_is_already_a_root() -> None:
    assert zeroin(0.0, 1.0, 0.0, -1.0, lambda v: v) == 0.0
    assert zeroin(-1.0, 2.0, -1.0, 0.0, lambda v: v) == 2.0


def test_zeroin_finds_a_smooth_root_to_its_tolerance() -> None:
    root = zeroin(0.0, 3.0, -2.0, 7.0, lambda v: v * v - 2)
    assert root == pytest.approx(math.sqrt(2), abs=1e-4)


def test_counting_by_merge_agrees_with_a_binary_search_per_point() -> None:
    """The merge that counts the y below each x - d (many distinct x) must count exactly what a
    binary search counts, ties across the samples included."""
    import numpy as np

    from gennaker.canary.mannwhitney import WilcoxonStatistic

    rng = np.random.default_rng(3)
    cases = [
        (rng.normal(0, 1, 300), rng.normal(0.2, 1, 250)),
        (np.arange(200) * 0.5, np.arange(150) * 0.25 + 0.125),  # x - d lands exactly on y values
        (rng.normal(0, 1, 100), np.round(rng.normal(0, 1, 400), 1)),
    ]
    for x, y in cases:
        stat = WilcoxonStatistic(x, y)
        assert stat._pooled is not None  # the merge is in use
        for d in [*rng.normal(0, 1, 10), 0.0, 0.25, 0.5, float(stat.x[3] - stat.y[0])]:
            z = stat._ux - d
            assert np.array_equal(stat._count_below(z), np.searchsorted(stat.y, z, "left"))
