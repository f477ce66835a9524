"""Kayenta's Prometheus query building (PrometheusMetricsService.buildQuery, QueryConfigUtils)."""

from __future__ import annotations

from typing import Any

import pytest

from gennaker.canary.sources.base import CanaryScope
from gennaker.canary.sources.promql import QueryError, build_query, expand, template_variables

SCOPE = CanaryScope("shop-canary", "us-east-1", 0, 60_000, 60, {"namespace": "prod"})


def q(**query: Any) -> dict[str, Any]:
    return {"type": "prometheus", **query}


def test_metric_name_label_bindings_and_group_by() -> None:
    query = q(metricName="http_requests_total", labelBindings=['code=~"5.."'], groupByFields=["pod", "code"],
              customInlineTemplate='group="${scope}"')  # fmt: skip
    assert (
        build_query({}, query, SCOPE)
        == 'avg(http_requests_total{group="shop-canary",code=~"5.."}) by (pod,code)'
    )


def test_named_template_with_extended_scope_params_and_location() -> None:
    config = {"templates": {"by-ns": 'namespace="${namespace}",region="${location}"'}}
    query = q(metricName="up", customFilterTemplate="by-ns")
    assert build_query(config, query, SCOPE) == 'avg(up{namespace="prod",region="us-east-1"})'


def test_promql_prefix_is_the_whole_query() -> None:
    query = q(customInlineTemplate='PromQL:sum(rate(http_requests_total{group="${scope}"}[1m]))')
    assert build_query({}, query, SCOPE) == 'sum(rate(http_requests_total{group="shop-canary"}[1m]))'


def test_resource_types() -> None:
    assert build_query({}, q(metricName="m", resourceType="aws_ec2_instance"), SCOPE) == (
        'avg(m{asg_groupName="shop-canary",zone=~"us-east-1.{1}"})'
    )
    gce = CanaryScope("shop-v001", "us-central1", 0, 60_000, 60, {"project": "p1"})
    assert build_query({}, q(metricName="m", resourceType="gce_instance"), gce, "instance") == (
        'avg(m{instance=~"shop-v001-.{4}",zone=~".+/projects/p1/zones/us-central1-.{1}"})'
    )
    with pytest.raises(QueryError, match="no explicit support for resourceType 'k8s'"):
        build_query({}, q(metricName="m", resourceType="k8s"), SCOPE)
    with pytest.raises(QueryError, match="Either a resource type or a custom filter is required"):
        build_query({}, q(metricName="m"), SCOPE)


def test_template_errors() -> None:
    with pytest.raises(QueryError, match=r"refers to \$\{team\}, which is not bound"):
        build_query({}, q(metricName="m", customInlineTemplate='team="${team}"'), SCOPE)
    with pytest.raises(QueryError, match="was not found"):
        build_query({"templates": {"a": "x"}}, q(metricName="m", customFilterTemplate="b"), SCOPE)
    with pytest.raises(QueryError, match="no templates were defined"):
        build_query({}, q(metricName="m", customFilterTemplate="b"), SCOPE)
    with pytest.raises(QueryError, match="customFilter is deprecated"):
        build_query({}, q(metricName="m", customFilter="x"), SCOPE)
    with pytest.raises(QueryError, match="Metric Name is required"):
        build_query({}, q(customInlineTemplate="a=b"), SCOPE)


def test_substitution_escapes_and_defaults() -> None:
    assert expand("$${scope} ${scope} ${team:-core}", {"scope": "s"}) == "${scope} s core"
    assert template_variables('a="${x}",b="$${y}",c="${z:-d}"') == ["x"]
