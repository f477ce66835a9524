"""Kayenta's data cleaning, descriptive statistics and effect sizes (``kayenta-judge`` ``preprocessing``,
``detectors``, ``stats``), with commons-math's conventions: R-7 percentiles, sample standard deviation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def remove_nans(values: Array) -> Array:
    """The values that are not NaN (±Inf stays)."""
    return values[~np.isnan(values)]


def replace_nans(values: Array, value: float = 0.0) -> Array:
    """NaN replaced by ``value``."""
    return np.where(np.isnan(values), value, values)


def percentile(values: Array, p: float) -> float:
    """commons-math's Percentile with the R-7 estimator (linear interpolation); NaN when empty."""
    n = values.size
    if n == 0:
        return math.nan
    ordered = np.sort(values)
    q = p / 100.0
    if q == 0:
        pos = 0.0
    elif q == 1:
        pos = float(n)
    else:
        pos = 1 + (n - 1) * q
    if pos < 1:
        return float(ordered[0])
    if pos >= n:
        return float(ordered[-1])
    floor = math.floor(pos)
    dif = pos - floor
    lower = float(ordered[floor - 1])
    upper = float(ordered[floor])
    return lower + dif * (upper - lower)


def iqr_outliers(
    values: Array, factor: float = 1.5, reduce_sensitivity: bool = False
) -> npt.NDArray[np.bool_]:
    """Kayenta's IQRDetector: True where a value lies outside the Tukey fences (widened to P1/P99
    with ``reduce_sensitivity``)."""
    if factor <= 0:
        raise ValueError("factor must be greater than zero")
    p75 = percentile(values, 75)
    p25 = percentile(values, 25)
    iqr = p75 - p25
    lower = p25 - factor * iqr
    upper = p75 + factor * iqr
    if reduce_sensitivity:
        lower = min(percentile(values, 1), lower)
        upper = max(percentile(values, 99), upper)
    with np.errstate(invalid="ignore"):
        result: npt.NDArray[np.bool_] = (values > upper) | (values < lower)
    return result


def ksigma_outliers(values: Array, k: float = 3.0) -> npt.NDArray[np.bool_]:
    """Kayenta's KSigmaDetector (unused by the judge): |x - mean| > k * population sigma."""
    mean = float(np.mean(values))
    sigma = float(np.std(values))
    result: npt.NDArray[np.bool_] = np.abs(values - mean) > k * sigma
    return result


def remove_outliers(values: Array, factor: float) -> Array:
    """The judge's outlier removal: the IQR detector with reduced sensitivity."""
    if values.size == 0:
        return values
    return values[~iqr_outliers(values, factor, reduce_sensitivity=True)]


def mean(values: Array) -> float:
    """commons-math's mean (with its second-pass correction); NaN when empty."""
    n = values.size
    if n == 0:
        return math.nan
    with np.errstate(invalid="ignore", over="ignore"):
        m = float(np.sum(values)) / n
        return m + float(np.sum(values - m)) / n


def sample_std(values: Array, m: float | None = None) -> float:
    """Sample standard deviation (n - 1), 0 for one value; ``m`` is the mean when known."""
    n = values.size
    if n < 2:
        return 0.0
    m = mean(values) if m is None else m
    with np.errstate(invalid="ignore", over="ignore"):
        dev = values - m
        accum = float(np.sum(dev * dev))
        accum2 = float(np.sum(dev))
        variance = (accum - accum2 * accum2 / n) / (n - 1)
    return math.sqrt(variance) if variance >= 0 or math.isnan(variance) else math.nan


@dataclass(frozen=True)
class MetricStatistics:
    """Kayenta's ``MetricStatistics`` (there is no median)."""

    min: float
    max: float
    mean: float
    std: float
    count: int

    def to_json(self) -> dict[str, Any]:
        """The ``stats`` object of ``controlMetadata`` / ``experimentMetadata``."""
        return {"min": self.min, "max": self.max, "mean": self.mean, "std": self.std, "count": self.count}


def summary(values: Array) -> MetricStatistics:
    """min, max, mean, sample std and count; all zero for an empty series."""
    if values.size == 0:
        return MetricStatistics(0.0, 0.0, 0.0, 0.0, 0)
    m = mean(values)
    return MetricStatistics(
        float(np.min(values)), float(np.max(values)), m, sample_std(values, m), int(values.size)
    )


def mean_ratio(control: Array, experiment: Array) -> float:
    """mean(experiment) / mean(control), NaN when either mean is 0."""
    control_mean = mean(control)
    experiment_mean = mean(experiment)
    if control_mean == 0.0 or experiment_mean == 0.0:
        return math.nan
    return experiment_mean / control_mean


def average_ranks(values: Array) -> Array:
    """1-based ranks with ties given their average rank."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    n = values.size
    boundaries = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [n]))
    group_rank = (starts + ends + 1) / 2.0
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.repeat(group_rank, ends - starts)
    return ranks


def cles(control: Array, experiment: Array) -> float:
    """Vargha-Delaney A: P(experiment > control) + P(tie) / 2, from the experiment's rank sum."""
    m = experiment.size
    n = control.size
    ranks = average_ranks(np.concatenate((experiment, control)))
    r1 = float(np.sum(ranks[:m]))
    return (2 * r1 - m * (m + 1)) / (2 * n * m)


def cohen_d(control: Array, experiment: Array) -> float:
    """Cohen's d with the pooled standard deviation (Kayenta has it, the judge does not use it)."""
    c, e = summary(control), summary(experiment)
    pooled = math.sqrt(((e.count - 1) * e.std**2 + (c.count - 1) * c.std**2) / (c.count + e.count - 2))
    return abs(e.mean - c.mean) / pooled
