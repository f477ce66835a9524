"""One metric's classification: Kayenta's MannWhitneyClassifier (``classifiers/metric``).

Pass / High / Low / Nodata / NodataFailMetric (Error is the judge's, for a classification that
raised), with the direction, the effect-size gates and the critical flag exactly as Kayenta decides
them, and Kayenta's reason strings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from gennaker.canary.mannwhitney import mann_whitney
from gennaker.canary.stats import Array, cles, mean_ratio


class Classification(StrEnum):
    """A metric's label (the strings Kayenta writes)."""

    PASS = "Pass"
    HIGH = "High"
    LOW = "Low"
    NODATA = "Nodata"
    NODATA_FAIL_METRIC = "NodataFailMetric"
    ERROR = "Error"


class Direction(StrEnum):
    """Which way a metric may move before it fails."""

    INCREASE = "increase"
    DECREASE = "decrease"
    EITHER = "either"

    @classmethod
    def parse(cls, value: str) -> Direction:
        """Kayenta's parse: anything unknown is ``either``."""
        try:
            return cls(value)
        except ValueError:
            return cls.EITHER


@dataclass(frozen=True)
class MetricClassification:
    """What the classifier decided, with the mean ratio Kayenta reports as ``resultMetadata.ratio``."""

    classification: Classification
    reason: str | None
    deviation: float
    critical: bool
    lower: float | None = None
    upper: float | None = None
    estimate: float | None = None
    effect_size: float | None = None


@dataclass(frozen=True)
class MannWhitneyClassifier:
    """Kayenta's classifier; the judge builds it with tolerance 0.25 and confidence 0.98."""

    tolerance: float = 0.25
    conf_level: float = 0.95
    allowed_decrease: float = 1.0
    allowed_increase: float = 1.0
    critical_decrease: float = 1.0
    critical_increase: float = 1.0
    measure: str = "meanRatio"

    def classify(
        self,
        name: str,
        control: Array,
        experiment: Array,
        *,
        direction: Direction = Direction.EITHER,
        nan_remove: bool = True,
        critical: bool = False,
        must_have_data: bool = False,
        rng: np.random.Generator | None = None,
    ) -> MetricClassification:
        """Classify the experiment ("Canary") against the control ("Baseline"), both cleaned."""
        if experiment.size == 0 or control.size == 0:
            if nan_remove:
                reason = f"Missing data for {name}"
                if must_have_data and not critical:
                    return MetricClassification(Classification.NODATA_FAIL_METRIC, reason, 1.0, False)
                return MetricClassification(Classification.NODATA, reason, 1.0, critical)
            return MetricClassification(Classification.PASS, None, 1.0, False)
        experiment = np.sort(experiment)
        control = np.sort(control)
        if experiment.size == control.size and np.array_equal(experiment, control):
            return MetricClassification(
                Classification.PASS, "The Canary and Baseline data are identical", 1.0, False
            )
        if experiment[0] == experiment[-1] == control[0] == control[-1]:
            return MetricClassification(Classification.PASS, None, 1.0, False)
        return self._compare(name, control, experiment, direction, critical, rng)

    def _compare(
        self,
        name: str,
        control: Array,
        experiment: Array,
        direction: Direction,
        critical: bool,
        rng: np.random.Generator | None,
    ) -> MetricClassification:
        # Both sorted here.
        if experiment[0] == experiment[-1] and control[0] == control[-1]:
            # Two different constants: every observation is tied within its side, which leaves no
            # rank information; Kayenta adds noise scaled to each side's value.
            generator = rng or np.random.default_rng()
            experiment = experiment + generator.normal(0.0, abs(float(experiment[0])) * 1e-5, experiment.size)
            control = control + generator.normal(0.0, abs(float(control[0])) * 1e-5, control.size)
            experiment.sort()
            control.sort()
        result = mann_whitney(experiment, control, self.conf_level, presorted=True)
        deviation = mean_ratio(control, experiment)
        effect = cles(control, experiment) if self.measure == "cles" else deviation
        bound = self.tolerance * abs(result.estimate)
        is_high = (
            direction in (Direction.INCREASE, Direction.EITHER)
            and result.lower > bound
            and (math.isnan(effect) or effect >= self.allowed_increase)
        )
        is_low = (
            direction in (Direction.DECREASE, Direction.EITHER)
            and result.upper < -bound
            and (math.isnan(effect) or effect <= self.allowed_decrease)
        )
        extra = {
            "lower": result.lower,
            "upper": result.upper,
            "estimate": result.estimate,
            "effect_size": effect,
        }
        if is_high:
            if critical and (math.isnan(effect) or effect >= self.critical_increase):
                reason = f"The metric {name} was classified as High (Critical)"
                return MetricClassification(Classification.HIGH, reason, deviation, True, **extra)
            reason = f"{name} was classified as High"
            return MetricClassification(Classification.HIGH, reason, deviation, False, **extra)
        if is_low:
            if critical and (math.isnan(effect) or effect <= self.critical_decrease):
                reason = f"The metric {name} was classified as Low (Critical)"
                return MetricClassification(Classification.LOW, reason, deviation, True, **extra)
            reason = f"{name} was classified as Low"
            return MetricClassification(Classification.LOW, reason, deviation, False, **extra)
        return MetricClassification(Classification.PASS, None, deviation, False, **extra)
