"""Canary config validation: Kayenta's checks (name, applications, unique metric names) and the
ones its UI enforces (group weights for every group, in-range ordered thresholds), plus unknown
fields, each reported at its JSON path."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from gennaker.canary.sources.promql import template_variables
from gennaker.errors import FieldError, InvalidInput

Json = dict[str, Any]
NAME = re.compile(r"[A-Za-z0-9_-]*")
JUDGE_NAMES = ("NetflixACAJudge-v1.0",)
#: Template names every scope binds; anything else must come from extendedScopeParams.
SCOPE_BINDINGS = ("project", "resourceType", "scope", "location")

_TOP = {
    "id", "name", "description", "configVersion", "applications", "judge", "metrics", "templates",
    "classifier", "createdTimestamp", "updatedTimestamp", "createdTimestampIso", "updatedTimestampIso",
    "isNew",
}  # fmt: skip
_METRIC = {"name", "query", "groups", "analysisConfigurations", "scopeName"}
_CANARY = {"direction", "nanStrategy", "critical", "mustHaveData", "muted", "effectSize", "outliers"}
_EFFECT = {"measure", "allowedIncrease", "allowedDecrease", "criticalIncrease", "criticalDecrease"}
_OUTLIERS = {"strategy", "outlierFactor"}
_ENUMS = {
    "direction": ("increase", "decrease", "either"),
    "nanStrategy": ("remove", "replace"),
}

QueryValidator = Callable[[Mapping[str, Any], str], list[FieldError]]


def _unknown(obj: Mapping[str, Any], known: set[str], path: str, errors: list[FieldError]) -> None:
    for key in obj:
        if key not in known:
            errors.append(FieldError(f"{path}.{key}", "is not a known field"))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_config(
    config: Any, query_validators: Mapping[str, QueryValidator], *, path: str = "$"
) -> list[FieldError]:
    """Every problem of a canary config; ``query_validators`` by query type (the metric sources')."""
    if not isinstance(config, dict):
        return [FieldError(path, "a canary config must be a JSON object")]
    errors: list[FieldError] = []
    _unknown(config, _TOP, path, errors)
    name = config.get("name")
    if not isinstance(name, str) or not name:
        errors.append(FieldError(f"{path}.name", "Canary config must specify a name."))
    elif not NAME.fullmatch(name):
        errors.append(
            FieldError(
                f"{path}.name",
                f"Canary config cannot be named '{name}'. Names must contain only letters, numbers, "
                "dashes (-) and underscores (_).",
            )
        )
    apps = config.get("applications")
    if not isinstance(apps, list) or not apps:
        errors.append(
            FieldError(f"{path}.applications", "Canary config must specify at least one application.")
        )
    elif not all(isinstance(a, str) and a for a in apps):
        errors.append(FieldError(f"{path}.applications", "must be a list of application names"))
    judge = config.get("judge")
    if judge is not None:
        if not isinstance(judge, dict):
            errors.append(FieldError(f"{path}.judge", "must be an object"))
        else:
            _unknown(judge, {"name", "judgeConfigurations"}, f"{path}.judge", errors)
            if judge.get("name") not in JUDGE_NAMES:
                errors.append(FieldError(f"{path}.judge.name", f"must be one of {', '.join(JUDGE_NAMES)}"))
    templates = config.get("templates") or {}
    if not isinstance(templates, dict) or not all(isinstance(v, str) for v in templates.values()):
        errors.append(FieldError(f"{path}.templates", "must map template names to strings"))
        templates = {}
    groups_used = _metrics(config.get("metrics"), templates, query_validators, path, errors)
    _classifier(config.get("classifier"), groups_used, path, errors)
    return errors


def _metrics(
    metrics: Any,
    templates: Mapping[str, str],
    query_validators: Mapping[str, QueryValidator],
    path: str,
    errors: list[FieldError],
) -> dict[str, str]:
    groups_used: dict[str, str] = {}
    if metrics is None:
        return groups_used
    if not isinstance(metrics, list):
        errors.append(FieldError(f"{path}.metrics", "must be a list"))
        return groups_used
    seen: dict[str, str] = {}
    for index, metric in enumerate(metrics):
        where = f"{path}.metrics[{index}]"
        if not isinstance(metric, dict):
            errors.append(FieldError(where, "must be an object"))
            continue
        _unknown(metric, _METRIC, where, errors)
        name = metric.get("name")
        if not isinstance(name, str) or not name:
            errors.append(FieldError(f"{where}.name", "Metric config must specify a name."))
        elif name in seen:
            errors.append(
                FieldError(f"{where}.name", f"Metric config name must be unique. '{name}' is duplicated.")
            )
        else:
            seen[name] = where
        groups = metric.get("groups") or []
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            errors.append(FieldError(f"{where}.groups", "must be a list of group names"))
        else:
            for group in groups:
                groups_used.setdefault(group, f"{where}.groups")
        _query(metric.get("query"), templates, query_validators, f"{where}.query", errors)
        analysis = metric.get("analysisConfigurations") or {}
        if not isinstance(analysis, dict):
            errors.append(FieldError(f"{where}.analysisConfigurations", "must be an object"))
        elif analysis.get("canary") is not None:
            _canary(analysis["canary"], f"{where}.analysisConfigurations.canary", errors)
    return groups_used


def _query(
    query: Any,
    templates: Mapping[str, str],
    query_validators: Mapping[str, QueryValidator],
    where: str,
    errors: list[FieldError],
) -> None:
    if not isinstance(query, dict):
        errors.append(FieldError(where, "is required (an object with a type)"))
        return
    query_type = query.get("type") or query.get("serviceType")
    validator = query_validators.get(str(query_type))
    if validator is None:
        known = ", ".join(sorted(query_validators)) or "none configured"
        errors.append(
            FieldError(
                f"{where}.type", f"no metrics account serves query type {query_type!r} (known: {known})"
            )
        )
    else:
        errors.extend(validator(query, where))
    named = query.get("customFilterTemplate")
    if isinstance(named, str) and named and named not in templates:
        errors.append(
            FieldError(f"{where}.customFilterTemplate", f"Custom filter template '{named}' was not found.")
        )


def _canary(canary: Any, where: str, errors: list[FieldError]) -> None:
    if not isinstance(canary, dict):
        errors.append(FieldError(where, "must be an object"))
        return
    _unknown(canary, _CANARY, where, errors)
    for key, allowed in _ENUMS.items():
        value = canary.get(key)
        if value is not None and value not in allowed:
            errors.append(FieldError(f"{where}.{key}", f"must be one of {', '.join(allowed)}"))
    for key in ("critical", "mustHaveData", "muted"):
        value = canary.get(key)
        if value is not None and not isinstance(value, bool):
            errors.append(FieldError(f"{where}.{key}", "must be true or false"))
    effect = canary.get("effectSize")
    if effect is not None:
        if not isinstance(effect, dict):
            errors.append(FieldError(f"{where}.effectSize", "must be an object"))
        else:
            _unknown(effect, _EFFECT, f"{where}.effectSize", errors)
            if effect.get("measure") not in (None, "meanRatio", "cles"):
                errors.append(FieldError(f"{where}.effectSize.measure", "must be meanRatio or cles"))
            for key in _EFFECT - {"measure"}:
                if key in effect and not _number(effect[key]):
                    errors.append(FieldError(f"{where}.effectSize.{key}", "must be a number"))
    outliers = canary.get("outliers")
    if outliers is not None:
        if not isinstance(outliers, dict):
            errors.append(FieldError(f"{where}.outliers", "must be an object"))
        else:
            _unknown(outliers, _OUTLIERS, f"{where}.outliers", errors)
            if outliers.get("strategy") not in (None, "keep", "remove"):
                errors.append(FieldError(f"{where}.outliers.strategy", "must be keep or remove"))
            factor = outliers.get("outlierFactor")
            if factor is not None and (not _number(factor) or factor <= 0):
                errors.append(
                    FieldError(f"{where}.outliers.outlierFactor", "must be a number greater than 0")
                )


def _classifier(classifier: Any, groups_used: Mapping[str, str], path: str, errors: list[FieldError]) -> None:
    where = f"{path}.classifier"
    if classifier is None:
        classifier = {}
    if not isinstance(classifier, dict):
        errors.append(FieldError(where, "must be an object"))
        return
    _unknown(classifier, {"groupWeights", "scoreThresholds"}, where, errors)
    weights = classifier.get("groupWeights") or {}
    if not isinstance(weights, dict):
        errors.append(FieldError(f"{where}.groupWeights", "must map group names to weights"))
        weights = {}
    for group, weight in weights.items():
        if not _number(weight) or weight < 0:
            errors.append(FieldError(f"{where}.groupWeights.{group}", "must be a number, 0 or more"))
    for group, used_at in groups_used.items():
        if group not in weights:
            errors.append(
                FieldError(f"{where}.groupWeights", f"has no weight for group '{group}' (used at {used_at})")
            )
    if weights and groups_used and all(_number(w) for w in weights.values()):
        total = sum(float(w) for w in weights.values())
        if abs(total - 100) > 1e-9:
            errors.append(
                FieldError(f"{where}.groupWeights", f"must add up to 100 (they add up to {total:g})")
            )
    thresholds = classifier.get("scoreThresholds")
    if thresholds is not None:
        errors.extend(validate_thresholds(thresholds, f"{where}.scoreThresholds"))


def validate_thresholds(thresholds: Any, where: str) -> list[FieldError]:
    """``{pass, marginal}``: numbers from 0 to 100 with marginal at most pass."""
    if not isinstance(thresholds, dict):
        return [FieldError(where, "must be an object with pass and marginal")]
    errors: list[FieldError] = []
    _unknown(thresholds, {"pass", "marginal"}, where, errors)
    for key in ("pass", "marginal"):
        value = thresholds.get(key)
        if value is None:
            errors.append(FieldError(f"{where}.{key}", "is required"))
        elif not _number(value) or not 0 <= value <= 100:
            errors.append(FieldError(f"{where}.{key}", "must be a number from 0 to 100"))
    passed: Any = thresholds.get("pass")
    marginal: Any = thresholds.get("marginal")
    if _number(passed) and _number(marginal) and marginal > passed:
        errors.append(
            FieldError(
                where, f"marginal ({marginal:g}) must not be above pass ({passed:g}): thresholds out of order"
            )
        )
    return errors


def check_template_bindings(
    config: Mapping[str, Any], extended_keys: set[str], path: str, *, metric_index: int | None = None
) -> list[FieldError]:
    """Templates that refer to a name no scope binds (the scope's four plus ``extended_keys``), for
    every metric or only the one at ``metric_index``."""
    known = set(SCOPE_BINDINGS) | extended_keys
    errors = []
    used: dict[str, str] = {}
    for index, metric in enumerate(config.get("metrics") or []):
        if metric_index is not None and index != metric_index:
            continue
        query = metric.get("query") or {}
        if query.get("customInlineTemplate"):
            used.setdefault(
                f"{path}.metrics[{index}].query.customInlineTemplate", str(query["customInlineTemplate"])
            )
        elif query.get("customFilterTemplate") in (config.get("templates") or {}):
            name = query["customFilterTemplate"]
            used.setdefault(f"{path}.templates.{name}", str(config["templates"][name]))
    for where, template in used.items():
        for variable in template_variables(template):
            if variable not in known:
                errors.append(
                    FieldError(
                        where,
                        f"refers to ${{{variable}}}, which is not a binding (bound: {', '.join(sorted(known))})",
                    )
                )
    return errors


def prepared(config: Any, query_validators: Mapping[str, QueryValidator], *, path: str = "$") -> Json:
    """A valid config with an id (a new UUID when it has none), or InvalidInput listing every problem."""
    errors = validate_config(config, query_validators, path=path)
    if errors:
        raise InvalidInput("", errors)
    body = dict(config)
    body.pop("isNew", None)
    if not body.get("id"):
        body["id"] = str(uuid.uuid4())
    return body
