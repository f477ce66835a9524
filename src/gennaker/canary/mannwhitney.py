"""The Mann-Whitney U test's confidence interval and Hodges-Lehmann estimate, as Kayenta computes them.

Kayenta's ``MannWhitney.scala`` is the asymptotic branch of R's ``wilcox.test(x, y, conf.int=TRUE)``:
the interval ends are the roots of the continuity-corrected, tie-corrected normal statistic
``W(d) - z``, found by Brent's method (an exact port of R's ``zeroin`` with tolerance 1e-4). The
estimate is the root of ``W(d)`` with the correction kept (R drops it there). ``W`` is a step
function of the shift ``d``, so the root is wherever the solver stops near a jump: agreeing with
Kayenta to 1e-6 takes the same solver, the same tolerances and the same arithmetic, which is what
this module reproduces (every floating-point operation in the order Kayenta performs it).

Evaluating ``W(d)`` needs the rank sum of ``x - d`` in the pooled sample. With both samples sorted
it is ``(sum(L) + sum(R) - nx*ny) / 2`` where ``L_i``/``R_i`` count the ``y`` below / not above
``x_i - d`` (average ranks give exactly this, as an integer count of halves), found by binary
search over the distinct values of ``x`` instead of a full ranking; ``R`` is searched only when some
``x_i - d`` equals a ``y``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

MAX_ITERATIONS = 1000
TOLERANCE = 1e-4
EPSILON = 2.220446049250313e-16
#: From this many distinct x on, counting by a merge beats a binary search per element.
_MERGE_FROM = 64
_TINY = 5e-324  # Double.MIN_VALUE: commons-math's Precision.equals(x, 0) is "within one ulp of 0"


class MannWhitneyError(ValueError):
    """The interval cannot be computed (every observation tied)."""


@dataclass(frozen=True)
class MannWhitneyResult:
    """The confidence interval for ``x - y`` and the Hodges-Lehmann estimate of the shift."""

    lower: float
    upper: float
    estimate: float


def _is_zero(value: float) -> bool:
    return abs(value) <= _TINY


def zeroin(ax: float, bx: float, fa: float, fb: float, func: Callable[[float], float]) -> float:
    """Kayenta's BrentSolver.solve: R's zeroin with tolerance 1e-4 and at most 1000 iterations."""
    a, b = ax, bx
    c, fc = a, fa
    if _is_zero(fa):
        return a
    if _is_zero(fb):
        return b
    iteration = MAX_ITERATIONS + 1
    while iteration > 0:
        iteration -= 1
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * EPSILON * abs(b) + TOLERANCE / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or _is_zero(fb):
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0.0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = func(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def _tie_sum(sorted_values: Array) -> float:
    """Sum of t^3 - t over the groups of equal values of a sorted array."""
    n = sorted_values.size
    if n < 2:
        return 0.0
    boundaries = np.flatnonzero(sorted_values[1:] != sorted_values[:-1])
    if boundaries.size == n - 1:
        return 0.0
    edges = np.concatenate(([0], boundaries + 1, [n]))
    sizes = np.diff(edges).astype(np.float64)
    return float(np.sum(sizes**3 - sizes))


class WilcoxonStatistic:
    """``W(d)`` of Kayenta's ``wilcoxonDiff`` without the quantile, for one pair of samples."""

    def __init__(self, x: Array, y: Array, *, presorted: bool = False) -> None:
        self.x = np.asarray(x, dtype=np.float64) if presorted else np.sort(np.asarray(x, dtype=np.float64))
        self.y = np.asarray(y, dtype=np.float64) if presorted else np.sort(np.asarray(y, dtype=np.float64))
        self.nx = float(self.x.size)
        self.ny = float(self.y.size)
        self._half_pairs = self.x.size * self.y.size
        # x as its distinct values and their multiplicities: metrics are often counts with heavy
        # ties, and every count below is a weighted sum over the distinct values.
        self._ux, counts = np.unique(self.x, return_counts=True)
        self._wx: npt.NDArray[np.int64] | None = counts if self._ux.size < self.x.size else None
        self._y_end = np.append(self.y, np.inf)
        self._y_ties = _tie_sum(self.y)
        self._x_ties = _tie_sum(self.x)
        gaps = np.diff(self._ux)
        self._min_gap = float(gaps.min()) if gaps.size else math.inf
        self._x_scale = float(np.max(np.abs(self.x))) if self.x.size else 0.0
        self._cache: dict[float, float] = {}
        # Counting by merge pays for many distinct x (and needs x without repeats).
        self._pooled: Array | None = None
        if self._wx is None and self._ux.size >= _MERGE_FROM:
            self._pooled = np.concatenate((self._ux, self.y))
        self._z_index = np.arange(self._ux.size, dtype=np.int64)

    def __call__(self, d: float) -> float:
        cached = self._cache.get(d)
        if cached is not None:
            return cached
        value = self._evaluate(d)
        self._cache[d] = value
        return value

    def _evaluate(self, d: float) -> float:
        z = self._ux - d
        left = self._count_below(z)
        weights = self._wx
        sum_left = int(left.sum() if weights is None else (left * weights).sum())
        cross = 0
        sum_right = sum_left
        if (self._y_end.take(left) == z).any():
            # Some x - d equals some y: those y rank together with x (a tie across the samples).
            right = np.searchsorted(self.y, z, "right")
            tied = right - left
            a = np.ones_like(tied) if weights is None else weights
            sum_right = sum_left + int((tied * a).sum())
            # (a+b)^3 - (a+b) less the groups' own a^3 - a and b^3 - b is 3ab(a+b).
            cross = int((3 * a * tied * (a + tied)).sum())
        # Rank sum of x minus nx(nx+1)/2 minus nx*ny/2, exact (a whole number of halves).
        dz = (sum_left + sum_right - self._half_pairs) / 2
        if self._min_gap > 4 * EPSILON * (self._x_scale + abs(d)):
            ties = self._x_ties + self._y_ties + float(cross)
        else:
            # Subtracting d may have merged distinct x: count the pooled sample's tie groups as
            # Kayenta's ranking sees them.
            ties = _tie_sum(np.sort(np.concatenate((self.x - d, self.y))))
        nx, ny = self.nx, self.ny
        correction = 0.0 if dz == 0 else math.copysign(0.5, dz)
        sigma = math.sqrt((nx * ny / 12) * ((nx + ny + 1) - ties / ((nx + ny) * (nx + ny - 1))))
        if sigma == 0:
            raise MannWhitneyError("cannot compute confidence interval when all observations are tied")
        return (dz - correction) / sigma

    def _count_below(self, z: Array) -> npt.NDArray[np.int64]:
        """For each ``z_i`` (sorted), how many ``y`` lie strictly below it."""
        if self._pooled is None:
            return np.searchsorted(self.y, z, "left")
        # Both samples sorted: a stable sort of [z, y] is a merge of two runs (timsort; linear),
        # where a binary search per element costs log(ny) each. z goes first, so a y equal to some
        # z_i sorts after it and is not counted as below; the i-th z lands at i + its count.
        pooled = self._pooled
        pooled[: z.size] = z
        below: npt.NDArray[np.int64] = (pooled.argsort(kind="stable") < z.size).nonzero()[0]
        below -= self._z_index
        return below

    def diff(self, d: float, quantile: float) -> float:
        """Kayenta's ``wilcoxonDiff(mu=d, quantile)``."""
        return self(d) - quantile


def mann_whitney(
    x: Array, y: Array, confidence_level: float = 0.95, *, presorted: bool = False
) -> MannWhitneyResult:
    """Kayenta's ``mannWhitneyUTest(x, y, confidenceLevel)``: interval and estimate for ``x - y``."""
    if len(x) == 0 or len(y) == 0:
        raise MannWhitneyError("both samples need at least one observation")
    stat = WilcoxonStatistic(x, y, presorted=presorted)
    alpha = 1.0 - confidence_level
    mu_min = float(stat.x[0] - stat.y[-1])
    mu_max = float(stat.x[-1] - stat.y[0])

    def find_root(zq: float) -> float:
        f_lower = stat.diff(mu_min, zq)
        f_upper = stat.diff(mu_max, zq)
        if f_lower <= 0:
            return mu_min
        if f_upper >= 0:
            return mu_max
        return zeroin(mu_min, mu_max, f_lower, f_upper, lambda d: stat.diff(d, zq))

    # AS241 (Python's NormalDist) gives Kayenta's quantiles to the last bit where scipy's ndtri
    # does not (1.9599639845400536 at 95 %).
    z_quant = NormalDist().inv_cdf(alpha / 2)
    lower = find_root(-z_quant)
    upper = find_root(z_quant)
    estimate = zeroin(mu_min, mu_max, stat.diff(mu_min, 0.0), stat.diff(mu_max, 0.0), stat)
    return MannWhitneyResult(lower, upper, estimate)
