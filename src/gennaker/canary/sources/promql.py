"""Kayenta's Prometheus query building (``PrometheusMetricsService.buildQuery`` and
``QueryConfigUtils.expandCustomFilter``), a pure function of the config, the metric and the scope.

- ``customInlineTemplate`` (first) or the config template named by ``customFilterTemplate`` is
  expanded with ``${name}`` bindings: ``project``, ``resourceType``, ``scope`` and ``location`` from
  the scope, then ``resourceType`` from the query, then every ``extendedScopeParams`` entry. An
  unknown name is an error (``$${x}`` is a literal ``${x}``, ``${x:-d}`` has a default).
- An expansion starting with ``PromQL:`` is the whole query.
- Otherwise its comma-separated parts go before the ``labelBindings``; without a template the
  resource type decides (``gce_instance``, ``aws_ec2_instance``).
- The query is ``avg(<metricName>{<filters>})``, plus `` by (<groupByFields>)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gennaker.canary.sources.base import CanaryScope

QUERY_FIELDS = (
    "type",
    "serviceType",
    "resourceType",
    "metricName",
    "labelBindings",
    "groupByFields",
    "customInlineTemplate",
    "customFilterTemplate",
    "customFilter",
)
_VARIABLE = re.compile(r"\$(\$?)\{([^}]*)\}")


class QueryError(ValueError):
    """The query cannot be built; ``field`` names the query field at fault."""

    def __init__(self, message: str, field: str = "query") -> None:
        super().__init__(message)
        self.field = field


def bindings(query: Mapping[str, Any], scope: CanaryScope) -> dict[str, str]:
    """The names a template may use, in Kayenta's order (later ones win)."""
    bound: dict[str, str] = {}
    extended = dict(scope.extended)
    for name, value in (
        ("project", extended.get("project")),
        ("resourceType", extended.get("resourceType")),
        ("scope", scope.scope),
        ("location", scope.location),
    ):
        if value:
            bound[name] = str(value)
    if query.get("resourceType"):
        bound["resourceType"] = str(query["resourceType"])
    bound.update({str(k): str(v) for k, v in extended.items()})
    return bound


def template_variables(template: str) -> list[str]:
    """The names a template refers to (without defaults, escapes excluded)."""
    return [m.group(2) for m in _VARIABLE.finditer(template) if not m.group(1) and ":-" not in m.group(2)]


def expand(template: str, bound: Mapping[str, str]) -> str:
    """``${name}`` substitution as commons-text's StringSubstitutor with undefined names an error."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            return "${" + match.group(2) + "}"
        name, _, default = match.group(2).partition(":-")
        if name in bound:
            return bound[name]
        if ":-" in match.group(2):
            return default
        known = ", ".join(sorted(bound)) or "none"
        raise QueryError(f"the template refers to ${{{name}}}, which is not bound (bound: {known})")

    return _VARIABLE.sub(replace, template.replace("$\\{", "${"))


def custom_filter(config: Mapping[str, Any], query: Mapping[str, Any], scope: CanaryScope) -> str | None:
    """The expanded inline or named template, or None when the query uses neither."""
    if query.get("customFilter") is not None:
        raise QueryError("customFilter is deprecated, use customInlineTemplate instead.", "customFilter")
    inline = query.get("customInlineTemplate")
    named = query.get("customFilterTemplate")
    if not inline and not named:
        return None
    if inline:
        try:
            return expand(str(inline), bindings(query, scope))
        except QueryError as exc:
            raise QueryError(str(exc), "customInlineTemplate") from None
    templates = config.get("templates") or {}
    if not templates:
        raise QueryError(
            f"Custom filter template '{named}' was referenced, but no templates were defined.",
            "customFilterTemplate",
        )
    if named not in templates:
        raise QueryError(f"Custom filter template '{named}' was not found.", "customFilterTemplate")
    try:
        return expand(str(templates[named]), bindings(query, scope))
    except QueryError as exc:
        raise QueryError(f"template '{named}': {exc}", "customFilterTemplate") from None


def build_query(
    config: Mapping[str, Any], query: Mapping[str, Any], scope: CanaryScope, scope_label: str = "instance"
) -> str:
    """The PromQL Kayenta sends for this metric and scope."""
    resource_type = query.get("resourceType") or scope.extended.get("resourceType")
    expanded = custom_filter(config, query, scope)
    if expanded and expanded.startswith("PromQL:"):
        return expanded[len("PromQL:") :]
    metric_name = query.get("metricName")
    if not metric_name:
        raise QueryError("Metric Name is required when query type is Default.", "metricName")
    filters = [str(b) for b in query.get("labelBindings") or []]
    if expanded:
        filters = expanded.split(",") + filters
    elif resource_type == "gce_instance":
        if not scope.location:
            raise QueryError("Location (i.e. region) is required when resourceType is 'gce_instance'.")
        if scope.scope:
            filters.append(f'{scope_label}=~"{scope.scope}-.{{4}}"')
        zone = ".+/"
        project = scope.extended.get("project")
        if project:
            zone += f"projects/{project}/"
        filters.append(f'zone=~"{zone}zones/{scope.location}-.{{1}}"')
    elif resource_type == "aws_ec2_instance":
        if not scope.location:
            raise QueryError("Location (i.e. region) is required when resourceType is 'aws_ec2_instance'.")
        if scope.scope:
            filters.append(f'asg_groupName="{scope.scope}"')
        filters.append(f'zone=~"{scope.location}.{{1}}"')
    elif resource_type:
        raise QueryError(
            f"There is no explicit support for resourceType '{resource_type}'. You may build whatever "
            "query makes sense for your environment via label bindings and custom filter templates.",
            "resourceType",
        )
    else:
        raise QueryError("Either a resource type or a custom filter is required.")
    text = str(metric_name)
    if filters:
        text += "{" + ",".join(filters) + "}"
    text = f"avg({text})"
    group_by = [str(f) for f in query.get("groupByFields") or []]
    if group_by:
        text += " by (" + ",".join(group_by) + ")"
    return text
