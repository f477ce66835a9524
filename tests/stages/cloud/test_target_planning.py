"""How a top-level server group stage is planned (Orca's TargetServerGroupLinearStageSupport): a
determineTargetServerGroup stage for a dynamic target, then one child per location."""

from __future__ import annotations

from pathlib import Path

from gennaker.model.execution import Stage
from gennaker.model.status import ExecutionStatus
from gennaker.stages.cloud.server_group_stages import TargetStage
from gennaker.stages.cloud.targets import is_dynamic, pick, target_kind
from tests.stages.cloud.conftest import CloudHarness, deploy_pipeline

S = ExecutionStatus
ONE = {"min": 1, "max": 1, "desired": 1}


def _stage(**context: object) -> Stage:
    return Stage(id="s1", ref_id="1", type="disableServerGroup", name="Disable", context=dict(context))


def test_dynamic_target_plans_a_determine_stage_and_a_child_per_region() -> None:
    stage = _stage(target="current_asg_dynamic", cluster="app-web", regions=["east", "west"], credentials="a")
    specs = TargetStage("disableServerGroup", ("x", "y"), []).before_stages(stage)
    assert [s.type for s in specs] == [
        "determineTargetServerGroup",
        "disableServerGroup",
        "disableServerGroup",
    ]
    assert specs[0].context["regions"] == ["east", "west"]
    assert [s.context["region"] for s in specs[1:]] == ["east", "west"]
    assert [s.context["targetLocation"] for s in specs[1:]] == [
        {"type": "REGION", "value": "east"},
        {"type": "REGION", "value": "west"},
    ]
    assert "regions" not in stage.context  # the top-level stage's locations moved to its children
    assert TargetStage("disableServerGroup", ("x", "y"), []).tasks(stage) == []


def test_static_target_plans_a_child_per_region_without_determine_stage() -> None:
    stage = _stage(serverGroupName="app-web-v001", regions=["east", "west"])
    specs = TargetStage("disableServerGroup", ("x", "y"), []).before_stages(stage)
    assert [s.type for s in specs] == ["disableServerGroup", "disableServerGroup"]
    assert all(s.context["serverGroupName"] == "app-web-v001" for s in specs)


def test_target_spellings() -> None:
    assert target_kind("ancestor_asg_dynamic") == "previous"
    assert target_kind("CURRENT_ASG") == "current"
    assert is_dynamic({"target": "oldest_asg_dynamic"})
    assert not is_dynamic({"target": "current_asg"})


def test_dynamic_targets_resolve_through_the_determine_stage(cloud: CloudHarness, app_dir: Path) -> None:
    for _ in range(2):
        run = cloud.start(deploy_pipeline("shop", str(app_dir), capacity=ONE)["stages"], application="shop")
        assert cloud.run_until_complete(run.id).status == S.SUCCEEDED
    common = {"cloudProvider": "local", "credentials": "local", "regions": ["local"], "cluster": "shop-web"}
    stages = [
        {"refId": "1", "type": "disableServerGroup", "target": "ancestor_asg_dynamic", **common},
        {
            "refId": "2",
            "requisiteStageRefIds": ["1"],
            "type": "resizeServerGroup",
            "target": "current_asg_dynamic",
            "action": "scale_to_cluster",
            "scaleNum": 1,
            **common,
        },
    ]
    done = cloud.run_until_complete(cloud.start(stages, application="shop").id)
    assert done.status == S.SUCCEEDED, [s.context.get("exception") for s in done.stages]
    state = cloud.local.runtimes["local"].state
    assert state.group("shop-web-v000").disabled  # type: ignore[union-attr]
    assert not state.group("shop-web-v001").disabled  # type: ignore[union-attr]
    # the cluster's largest capacity is 1/1/1; growing by one is capped at its max
    assert state.group("shop-web-v001").capacity == {"min": 1, "max": 1, "desired": 1}  # type: ignore[union-attr]
    dtsg = [s for s in done.stages if s.type == "determineTargetServerGroup"]
    assert [r["name"] for s in dtsg for r in s.context["targetReferences"]] == [
        "shop-web-v000",
        "shop-web-v001",
    ]
    child = next(s for s in done.stages if s.type == "disableServerGroup" and s.parent_stage_id)
    assert child.context["targetLocation"] == {"type": "REGION", "value": "local"}
    assert child.context["deploy.server.groups"] == {"local": ["shop-web-v000"]}


def test_target_selection_rules() -> None:
    groups = [
        {"name": "a-v000", "createdTime": 1, "instances": [1, 2, 3]},
        {"name": "a-v001", "createdTime": 2, "instances": [1]},
        {"name": "a-v002", "createdTime": 3, "instances": [1, 2, 3]},
        {"name": "a-v003", "createdTime": None, "instances": [1, 2, 3, 4]},  # no createdTime: ignored
    ]
    names = {kind: pick(groups, kind) for kind in ("current", "previous", "oldest", "largest", "fail")}
    assert {k: v["name"] if not isinstance(v, str) else v for k, v in names.items()} == {
        "current": "a-v002",
        "previous": "a-v001",
        "oldest": "a-v000",
        "largest": "a-v002",  # a tie on size goes to the newest
        "fail": "More than one target found",
    }
    one = groups[:1]
    assert isinstance(pick(one, "previous"), str) and isinstance(pick(one, "oldest"), str)
    assert pick(one, "fail")["name"] == "a-v000"  # type: ignore[index]
    assert pick([], "current") == "no server group in the cluster"
