"""Stage graph mutation of templated pipelines (Orca's V2ConfigStageInjectionTransform)."""

from __future__ import annotations

from typing import Any

import pytest

from gennaker.templates.graph import GraphError, build_graph


def _stage(ref: str, *reqs: str, **extra: Any) -> dict[str, Any]:
    return {"refId": ref, "type": "wait", "name": ref, "requisiteStageRefIds": list(reqs), **extra}


def _edges(stages: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {s["refId"]: s["requisiteStageRefIds"] for s in stages}


TEMPLATE = [_stage("bake"), _stage("deploy", "bake"), _stage("verify", "deploy")]


def test_a_config_stage_replaces_the_template_stage_with_its_ref_id() -> None:
    stages = build_graph(TEMPLATE, [_stage("deploy", "bake", waitTime=5)])
    assert [s["refId"] for s in stages] == ["bake", "deploy", "verify"]
    assert stages[1]["waitTime"] == 5


def test_inject_first_runs_before_every_root() -> None:
    stages = build_graph(TEMPLATE, [_stage("lint", inject={"first": True})])
    assert stages[0]["refId"] == "lint"
    assert _edges(stages) == {"lint": [], "bake": ["lint"], "deploy": ["bake"], "verify": ["deploy"]}


def test_inject_last_runs_after_every_leaf() -> None:
    branchy = [_stage("a"), _stage("b", "a"), _stage("c", "a")]
    stages = build_graph(branchy, [_stage("notify", inject={"last": True})])
    assert stages[-1]["refId"] == "notify"
    assert sorted(_edges(stages)["notify"]) == ["b", "c"]


def test_inject_before_takes_over_the_targets_upstream_edges() -> None:
    stages = build_graph(TEMPLATE, [_stage("approve", inject={"before": ["deploy"]})])
    assert _edges(stages) == {"bake": [], "approve": ["bake"], "deploy": ["approve"], "verify": ["deploy"]}
    assert [s["refId"] for s in stages] == ["bake", "approve", "deploy", "verify"]


def test_inject_after_takes_over_the_edges_leaving_the_target() -> None:
    stages = build_graph(TEMPLATE, [_stage("smoke", inject={"after": ["deploy"]})])
    assert _edges(stages) == {"bake": [], "deploy": ["bake"], "smoke": ["deploy"], "verify": ["smoke"]}
    assert [s["refId"] for s in stages] == ["bake", "deploy", "smoke", "verify"]
    assert all("inject" not in s for s in stages)


def test_a_config_stage_with_upstream_edges_joins_the_graph() -> None:
    stages = build_graph(TEMPLATE, [_stage("audit", "bake")])
    assert _edges(stages)["audit"] == ["bake"]


def test_a_config_stage_with_no_placement_is_left_out_as_in_orca() -> None:
    stages = build_graph(TEMPLATE, [_stage("orphan")])
    assert "orphan" not in _edges(stages)


def test_an_unknown_injection_target_names_the_stage_and_target() -> None:
    with pytest.raises(GraphError) as caught:
        build_graph(TEMPLATE, [_stage("x"), _stage("y", inject={"after": ["nope"]})])
    assert caught.value.index == 1 and caught.value.key == "inject.after"
    assert "unknown target stage id 'nope'" in caught.value.message


def test_a_cycle_after_injection_is_refused() -> None:
    with pytest.raises(GraphError) as caught:
        build_graph(TEMPLATE, [_stage("loop", "verify", inject={"before": ["bake"]})])
    assert "cycle" in caught.value.message and caught.value.index == 0


def test_a_cycle_in_the_template_is_refused() -> None:
    with pytest.raises(GraphError) as caught:
        build_graph([_stage("a", "b"), _stage("b", "a")], [])
    assert caught.value.index is None and "cycle" in caught.value.message


def test_an_inject_rule_without_a_placement_is_refused() -> None:
    with pytest.raises(GraphError) as caught:
        build_graph(TEMPLATE, [_stage("x", inject={"first": False})])
    assert "none of first, last, before, after" in caught.value.message


def test_inputs_are_not_changed_and_long_chains_do_not_recurse() -> None:
    chain = [_stage("0")] + [_stage(str(i), str(i - 1)) for i in range(1, 3000)]
    before = [dict(s, requisiteStageRefIds=list(s["requisiteStageRefIds"])) for s in chain]
    stages = build_graph(chain, [_stage("end", inject={"last": True})])
    assert _edges(stages)["end"] == ["2999"]
    assert chain == before
