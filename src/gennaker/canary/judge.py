"""NetflixACAJudge-v1.0 as a pure function: a canary config, thresholds and metric set pairs in,
Kayenta's ``CanaryJudgeResult`` JSON out.

Each pair is cleaned per side (NaN strategy, then outliers), summarised, and classified by the
Mann-Whitney classifier with Kayenta's hard-coded tolerance 0.25 and confidence 0.98; the non-muted
results are scored by group weights. A pair whose metric is missing from the config, or a setting of
the wrong type, fails the whole judgment (JudgeError), as in Kayenta; a classification that raises
makes that one metric Error.
"""

from __future__ import annotations

import logging
import math
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gennaker.canary.classifier import Classification, Direction, MannWhitneyClassifier
from gennaker.canary.scorer import classify_score, score
from gennaker.canary.stats import Array, remove_nans, remove_outliers, replace_nans, summary

log = logging.getLogger(__name__)

JUDGE_NAME = "NetflixACAJudge-v1.0"
TOLERANCE = 0.25
CONFIDENCE_LEVEL = 0.98
Json = dict[str, Any]


class JudgeError(ValueError):
    """The judgment as a whole cannot be made (Kayenta fails the judge task)."""


def json_number(value: float) -> float | str:
    """A float as Jackson writes it: NaN and infinities as the strings "NaN", "Infinity", "-Infinity"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def series(values: Sequence[Any] | None) -> Array:
    """A series from JSON: numbers, with null (or "NaN") a missing point."""
    if not values:
        return np.empty(0, dtype=np.float64)
    try:
        # numpy reads None as NaN for a float array.
        return np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        pass
    out = np.empty(len(values), dtype=np.float64)
    for i, value in enumerate(values):
        if value is None:
            out[i] = math.nan
        elif isinstance(value, bool):
            raise JudgeError(f"a series holds a boolean ({value!r}) where a number belongs")
        elif isinstance(value, (int, float)):
            out[i] = float(value)
        elif isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
            out[i] = float(value.replace("Infinity", "inf"))
        else:
            raise JudgeError(f"a series holds {value!r} where a number belongs")
    return out


def _setting(settings: Mapping[str, Any], *path: str) -> Any:
    node: Any = settings
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _string(settings: Mapping[str, Any], default: str, *path: str) -> str:
    value = _setting(settings, *path)
    if value is None:
        return default
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _boolean(settings: Mapping[str, Any], name: str, *path: str) -> bool:
    value = _setting(settings, *path)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise JudgeError(f"metric {name}: {'.'.join(path)} must be true or false, got {value!r}")
    return value


def _double(settings: Mapping[str, Any], default: float, name: str, *path: str) -> float:
    value = _setting(settings, *path)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise JudgeError(f"metric {name}: {'.'.join(path)} must be a number, got {value!r}")
    return float(value)


def _metric_index(config: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    index: dict[str, Mapping[str, Any]] = {}
    for metric in config.get("metrics") or []:
        if isinstance(metric, Mapping):
            index.setdefault(str(metric.get("name")), metric)  # the first of a name, as Kayenta's find
    return index


def _seed(pair: Mapping[str, Any]) -> int:
    # Noise for two different constants: seeded from the pair so that judging the same data again
    # gives the same numbers (Kayenta's are random; only the classification is stable there).
    return zlib.crc32(f"{pair.get('id')}|{pair.get('name')}".encode())


def classify_pair(
    config: Mapping[str, Any], pair: Mapping[str, Any], index: Mapping[str, Mapping[str, Any]] | None = None
) -> Json:
    """One ``CanaryAnalysisResult`` for one metric set pair."""
    name = str(pair.get("name"))
    metric = (index if index is not None else _metric_index(config)).get(name)
    if metric is None:
        raise JudgeError(f"Could not find metric config for {name}")
    analysis = metric.get("analysisConfigurations") or {}
    values = pair.get("values") or {}
    experiment = series(values.get("experiment"))
    control = series(values.get("control"))

    direction = Direction.parse(_string(analysis, "either", "canary", "direction"))
    nan_remove = _string(analysis, "none", "canary", "nanStrategy") != "replace"
    outliers_remove = _string(analysis, "none", "canary", "outliers", "strategy") == "remove"
    factor = _double(analysis, 3.0, name, "canary", "outliers", "outlierFactor")
    critical = _boolean(analysis, name, "canary", "critical")
    must_have_data = _boolean(analysis, name, "canary", "mustHaveData")
    muted = _boolean(analysis, name, "canary", "muted")
    measure = _string(analysis, "meanRatio", "canary", "effectSize", "measure")
    default_effect = 0.5 if measure == "cles" else 1.0
    classifier = MannWhitneyClassifier(
        tolerance=TOLERANCE,
        conf_level=CONFIDENCE_LEVEL,
        allowed_increase=_double(analysis, default_effect, name, "canary", "effectSize", "allowedIncrease"),
        allowed_decrease=_double(analysis, default_effect, name, "canary", "effectSize", "allowedDecrease"),
        critical_increase=_double(analysis, default_effect, name, "canary", "effectSize", "criticalIncrease"),
        critical_decrease=_double(analysis, default_effect, name, "canary", "effectSize", "criticalDecrease"),
        measure=measure,
    )

    def clean(data: Array) -> Array:
        data = remove_nans(data) if nan_remove else replace_nans(data)
        if outliers_remove:
            if factor <= 0:
                raise JudgeError(f"metric {name}: outliers.outlierFactor must be greater than zero")
            data = remove_outliers(data, factor)
        return data

    experiment = clean(experiment)
    control = clean(control)
    experiment_stats = summary(experiment)
    control_stats = summary(control)
    result: Json = {
        "name": name,
        "tags": dict(pair.get("tags") or {}),
        "id": pair.get("id"),
        "classification": "",
        "groups": list(metric.get("groups") or []),
        "experimentMetadata": {"stats": _stats_json(experiment_stats.to_json())},
        "controlMetadata": {"stats": _stats_json(control_stats.to_json())},
        "critical": False,
        "muted": muted,
    }
    fetch_error = _fetch_error(pair)
    if fetch_error is not None:
        # Not Kayenta's (whose fetch failure fails the run): the metric alone is Error, with why.
        result["classification"] = Classification.ERROR.value
        result["classificationReason"] = fetch_error
        return _ordered(result)
    try:
        decided = classifier.classify(
            name,
            control,
            experiment,
            direction=direction,
            nan_remove=nan_remove,
            critical=critical,
            must_have_data=must_have_data,
            rng=np.random.default_rng(_seed(pair)),
        )
    except (ValueError, ArithmeticError, FloatingPointError) as exc:
        log.warning("classification of metric %s failed: %s", name, exc)
        result["classification"] = Classification.ERROR.value
        result["classificationReason"] = "Metric Classification Failed"
        return _ordered(result)
    result["classification"] = decided.classification.value
    if decided.reason is not None:
        result["classificationReason"] = decided.reason
    result["resultMetadata"] = {"ratio": json_number(decided.deviation)}
    result["critical"] = decided.critical
    return _ordered(result)


def _fetch_error(pair: Mapping[str, Any]) -> str | None:
    attributes = pair.get("attributes") or {}
    for side in ("control", "experiment"):
        error = (attributes.get(side) or {}).get("error")
        if error:
            return f"Metric fetch failed ({side}): {error}"
    return None


_ORDER = (
    "name",
    "tags",
    "id",
    "classification",
    "classificationReason",
    "groups",
    "experimentMetadata",
    "controlMetadata",
    "resultMetadata",
    "critical",
    "muted",
)


def _ordered(result: Json) -> Json:
    return {key: result[key] for key in _ORDER if key in result}


def _stats_json(stats: Json) -> Json:
    return {k: json_number(v) if isinstance(v, float) else v for k, v in stats.items()}


def judge(
    config: Mapping[str, Any],
    pairs: Sequence[Mapping[str, Any]],
    pass_threshold: float,
    marginal_threshold: float,
) -> Json:
    """Judge the pairs against the config's metrics; Kayenta's ``CanaryJudgeResult``."""
    index = _metric_index(config)
    results = [classify_pair(config, pair, index) for pair in pairs]
    classifier = config.get("classifier") or {}
    raw_weights = classifier.get("groupWeights") or {}
    weights = {}
    for group, weight in raw_weights.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise JudgeError(f"classifier.groupWeights.{group} must be a number, got {weight!r}")
        weights[str(group)] = float(weight)
    scored = score([r for r in results if not r["muted"]], weights)
    return {
        "judgeName": JUDGE_NAME,
        "results": results,
        "groupScores": [
            {"name": g.name, "score": g.score, "classification": "", "classificationReason": ""}
            for g in scored.groups
        ],
        "score": {
            "score": scored.score,
            "classification": classify_score(scored.score, pass_threshold, marginal_threshold),
            "classificationReason": scored.reason or "",
        },
    }
