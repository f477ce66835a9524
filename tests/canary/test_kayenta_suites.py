"""Kayenta's own MannWhitneySuite and ClassifierSuite, read from a Kayenta source tree.

Their largest arrays (the 180-, 210- and 850-value Mann-Whitney cases M3-M5 and the 30-point
classifier arrays) are Kayenta's test data and are not copied into this repository; point
``GENNAKER_KAYENTA_SRC`` at a checkout of spinnaker/kayenta to run them. The cases whose data the
reference holds run without it (test_mannwhitney.py, test_classifier.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from gennaker.canary.classifier import Direction, MannWhitneyClassifier
from gennaker.canary.mannwhitney import WilcoxonStatistic, mann_whitney

SRC = os.environ.get("GENNAKER_KAYENTA_SRC")
pytestmark = pytest.mark.skipif(not SRC, reason="GENNAKER_KAYENTA_SRC (a Kayenta checkout) is not set")
E = 1e-6
_ARRAY = re.compile(r"val (\w+)\s*=\s*Array(?:\[Double\])?\(([^)]*)\)")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _read(relative: str) -> str:
    return (Path(SRC or ".") / relative).read_text()


def _tests(text: str) -> dict[str, str]:
    parts = re.split(r'\n\s*test\("([^"]+)"\)\s*\{', text)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _arrays(body: str) -> dict[str, np.ndarray]:
    return {
        m.group(1): np.array([float(v) for v in _NUMBER.findall(m.group(2))]) for m in _ARRAY.finditer(body)
    }


def _mw_suite() -> dict[str, str]:
    return _tests(
        _read("kayenta-mannwhitney/src/test/scala/com/netflix/kayenta/mannwhitney/MannWhitneySuite.scala")
    )


def test_m3_large_tie_out_with_r() -> None:
    data = _arrays(_mw_suite()["Mann-Whitney Confidence Interval & Estimate: Tie out with R Version (Large)"])
    result = mann_whitney(data["experiment"], data["control"], 0.98)
    assert result.lower == pytest.approx(-0.4999173250549087, abs=E)
    assert result.upper == pytest.approx(-6.912685789769486e-6, abs=E)
    assert result.estimate == pytest.approx(-3.45044082729315e-5, abs=1e-4)


def test_m4_intermediate_values_and_crossed_interval() -> None:
    data = _arrays(_mw_suite()["Mann-Whitney Intermediate Values / Variables"])
    x, y = data["x"], data["y"]
    stat = WilcoxonStatistic(x, y)
    mu_min, mu_max = x.min() - y.max(), x.max() - y.min()
    assert mu_min == pytest.approx(-3.124999999999986, abs=E)
    assert mu_max == pytest.approx(5.555555555555557, abs=E)
    z = 1.9599639845400536
    assert stat.diff(mu_min, z) == pytest.approx(17.090968923762254, abs=E)
    assert stat.diff(mu_max, z) == pytest.approx(-20.997687930433106, abs=E)
    assert stat.diff(mu_min, -z) == pytest.approx(21.01089689284236, abs=E)
    assert stat.diff(mu_max, -z) == pytest.approx(-17.077759961353, abs=E)
    result = mann_whitney(x, y, 0.95)
    assert result.lower == pytest.approx(3.521755377702165e-5, abs=E)
    assert result.upper == pytest.approx(2.02456461662334e-5, abs=E)
    assert result.estimate == pytest.approx(2.6279243045155653e-5, abs=E)


def test_m5_problem_case_and_the_wilcoxon_function() -> None:
    suite = _mw_suite()
    data = _arrays(suite["Mann-Whitney Confidence Interval & Estimate: Problem Case"])
    result = mann_whitney(data["experiment"], data["control"], 0.98)
    assert result.lower == pytest.approx(-1.4808028936386108e-5, abs=E)
    assert result.upper == pytest.approx(1.808255910873413e-5, abs=E)
    assert result.estimate == pytest.approx(1.808255910873413e-5, abs=E)
    diff = _arrays(suite["Wilcoxon Diff Function"])
    stat = WilcoxonStatistic(diff["x"], diff["y"])
    assert stat.diff(0, 0) == pytest.approx(-1.229416, abs=E)
    assert stat.diff(5, 0) == pytest.approx(-35.80606, abs=E)


def _classifier_cases() -> list[tuple[str, str]]:
    text = (
        _read("kayenta-judge/src/test/scala/com/netflix/kayenta/judge/ClassifierSuite.scala") if SRC else ""
    )
    return list(_tests(text).items())


def _number(text: str, key: str, default: float) -> float:
    match = re.search(key + r"\s*=\s*([\d.]+)", text)
    return float(match.group(1)) if match else default


def _pair(text: str, key: str, default: tuple[float, float]) -> tuple[float, float]:
    match = re.search(key + r"\s*=\s*\(([^,]+),([^)]+)\)", text)
    return (float(match.group(1)), float(match.group(2))) if match else default


@pytest.mark.parametrize(("name", "body"), _classifier_cases() or [("none", "")])
def test_classifier_suite(name: str, body: str) -> None:
    expected = re.search(r"assert\(result\.classification == (\w+)\)", body)
    data = _arrays(body)
    if not expected or "experimentData" not in data:
        pytest.skip(f"{name}: not a classification assertion")
    # The classifier's own defaults (not the judge's) where a test gives none.
    tolerance = _number(body, "tolerance", 0.25)
    conf = _number(body, "confLevel", 0.95)
    measure = "cles" if 'effectSizeMeasure="cles"' in body.replace(" ", "") else "meanRatio"
    default = (0.5, 0.5) if measure == "cles" else (1.0, 1.0)
    allowed = _pair(body, "effectSizeThresholds", default)
    critical_thresholds = _pair(body, "criticalThresholds", default)
    direction = re.search(r"MetricDirection\.(\w+)", body)
    classifier = MannWhitneyClassifier(
        tolerance, conf, allowed[0], allowed[1], critical_thresholds[0], critical_thresholds[1], measure
    )
    result = classifier.classify(
        "m",
        data["controlData"],
        data["experimentData"],
        direction=Direction.parse(direction.group(1).lower() if direction else "either"),
        nan_remove="NaNStrategy.Replace" not in body,
        critical="isCriticalMetric = true" in body,
        rng=np.random.default_rng(3),
    )
    assert result.classification.value == expected.group(1)
    if "assert(result.critical)" in body:
        assert result.critical
    if "assert(!result.critical)" in body:
        assert not result.critical
