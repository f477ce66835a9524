"""Orca's rollback choices (DetermineRollbackCandidatesTask) and plans (ExplicitRollback,
PreviousImageRollback, RollbackClusterStage), without running them."""

from __future__ import annotations

from typing import Any

from gennaker.model.execution import Stage
from gennaker.model.status import ExecutionStatus
from gennaker.stages.cloud.rollback_cluster import RollbackClusterStage, candidates_in, healthy_percentage
from gennaker.stages.cloud.rollback_server_group import RollbackServerGroupStage
from tests.stages.cloud.conftest import CloudHarness


def group(seq: int, *, disabled: bool = False, desired: int = 2, region: str = "local") -> dict[str, Any]:
    return {
        "name": f"app-web-v{seq:03d}",
        "region": region,
        "createdTime": 1000 + seq,
        "disabled": disabled,
        "capacity": {"min": desired, "max": desired, "desired": desired},
        "imageName": f"image-{seq}",
    }


def test_the_newest_enabled_rolls_back_to_the_next_newest() -> None:
    groups = [group(1), group(2, disabled=True), group(3)]
    kind, context, image = candidates_in("local", groups, original=None, only_enabled=False, override=None)  # type: ignore[misc]
    assert kind == "EXPLICIT"
    assert context == {
        "rollbackServerGroupName": "app-web-v003",
        "restoreServerGroupName": "app-web-v002",
        "targetHealthyRollbackPercentage": 100,
    }
    assert image == {"region": "local", "image": "image-2", "rollbackMethod": "EXPLICIT"}


def test_only_enabled_candidates_and_original_server_group() -> None:
    groups = [group(1), group(2, disabled=True), group(3)]
    found = candidates_in("local", groups, original=None, only_enabled=True, override=None)
    assert found[1]["restoreServerGroupName"] == "app-web-v001"  # type: ignore[index]
    found = candidates_in("local", groups, original="app-web-v001", only_enabled=False, override=80)
    assert found[1]["restoreServerGroupName"] == "app-web-v001"  # type: ignore[index]
    assert found[1]["targetHealthyRollbackPercentage"] == 80  # type: ignore[index]


def test_no_rollback_without_two_groups_or_an_enabled_one() -> None:
    assert candidates_in("local", [group(1)], original=None, only_enabled=False, override=None) is None
    assert (
        candidates_in(
            "local",
            [group(1, disabled=True), group(2, disabled=True)],
            original=None,
            only_enabled=False,
            override=None,
        )
        is None
    )
    other = [group(1, region="east"), group(2, region="east")]
    assert candidates_in("local", other, original=None, only_enabled=False, override=None) is None
    lonely = candidates_in(
        "local", [group(1, disabled=True), group(2)], original=None, only_enabled=True, override=None
    )
    assert isinstance(lonely, str) and "Could not find a server group to roll back to" in lonely


def test_healthy_percentage_follows_the_size() -> None:
    assert [healthy_percentage({"desired": n}, None) for n in (1, 9, 10, 19, 20)] == [100, 100, 90, 90, 95]
    assert healthy_percentage({"desired": 50}, "70") == 70
    assert healthy_percentage(None, None) == 100


def _rollback(**rollback_context: Any) -> Stage:
    context = {
        "rollbackType": "EXPLICIT",
        "region": "local",
        "credentials": "local",
        "cloudProvider": "local",
        "rollbackContext": {
            "rollbackServerGroupName": "app-web-v002",
            "restoreServerGroupName": "app-web-v001",
            **rollback_context,
        },
    }
    return Stage(id="s", ref_id="1", type="rollbackServerGroup", name="Rollback", context=context)


def test_explicit_disable_only_and_enable_and_disable_only() -> None:
    plan = RollbackServerGroupStage().after_stages(_rollback(disableOnly="true"))
    assert [(s.type, s.name) for s in plan] == [
        ("disableServerGroup", "Disable app-web-v002 due to rollback")
    ]
    plan = RollbackServerGroupStage().after_stages(
        _rollback(enableAndDisableOnly=True, targetHealthyRollbackPercentage=90)
    )
    assert [s.name for s in plan] == [
        "Enable app-web-v001 due to rollback",
        "Disable app-web-v002 due to rollback",
    ]
    assert plan[0].context["targetHealthyDeployPercentage"] == 90
    assert plan[0].context["serverGroupName"] == "app-web-v001"


def test_full_explicit_rollback_resizes_the_restore_group_and_restores_its_min() -> None:
    stage = _rollback(delayBeforeDisableSeconds=5)
    stage.context["rollbackServerGroupCapacities"] = {
        "rollbackServerGroupName": {"min": 4, "max": 4, "desired": 4},
        "restoreServerGroupName": {"min": 1, "max": 2, "desired": 2},
    }
    plan = RollbackServerGroupStage().after_stages(stage)
    assert [s.name for s in plan] == [
        "Snapshot Source Server Group",
        "Enable app-web-v001 due to rollback",
        "Resize Server Group: app-web-v001 to (min: 4, max: 4, desired: 4)",
        "waitBeforeDisable",
        "Disable app-web-v002 due to rollback",
        "Restore Min Capacity From Snapshot due to rollback",
    ]
    resize = plan[2].context
    assert resize["capacity"] == {"min": 4, "max": 4, "desired": 4}
    assert resize["action"] == "scale_exact" and resize["pinMinimumCapacity"] is True
    # same capacities: no resize, no snapshot
    stage.context["rollbackServerGroupCapacities"]["restoreServerGroupName"] = {
        "min": 4,
        "max": 4,
        "desired": 4,
    }
    assert [s.type for s in RollbackServerGroupStage().after_stages(stage)] == [
        "enableServerGroup",
        "wait",
        "disableServerGroup",
    ]


def test_previous_image_clones_red_black_from_the_rollback_group() -> None:
    stage = Stage(
        id="s",
        ref_id="1",
        type="rollbackServerGroup",
        name="Rollback",
        context={
            "rollbackType": "PREVIOUS_IMAGE",
            "region": "local",
            "credentials": "local",
            "cloudProvider": "local",
            "sourceServerGroupCapacitySnapshot": {"min": 1, "max": 3, "desired": 2},
            "rollbackContext": {
                "rollbackServerGroupName": "app-web-v002",
                "imageId": "sha256:abc",
                "imageName": "app-1",
            },
        },
    )
    (clone,) = RollbackServerGroupStage().after_stages(stage)
    assert (clone.type, clone.name) == ("cloneServerGroup", "clone")
    assert clone.context["strategy"] == "redblack"
    assert (clone.context["application"], clone.context["stack"]) == ("app", "web")
    assert clone.context["imageId"] == "sha256:abc" and clone.context["amiName"] == "app-1"
    assert clone.context["capacity"] == {"min": 1, "max": 3, "desired": 2}
    assert clone.context["source"]["useSourceCapacity"] is False


def test_rollback_cluster_plans_a_rollback_per_region_with_waits_between() -> None:
    stage = Stage(
        id="s",
        ref_id="1",
        type="rollbackCluster",
        name="Rollback",
        context={
            "regions": ["east", "west", "north"],
            "credentials": "aws-prod",
            "cloudProvider": "aws",
            "waitTimeBetweenRegions": 30,
            "additionalRollbackContext": {"enableAndDisableOnly": True},
            "rollbackInheritedContext": {"interestingHealthProviderNames": ["Amazon"]},
        },
        outputs={
            "rollbackTypes": {"east": "EXPLICIT", "north": "EXPLICIT"},
            "rollbackContexts": {
                "east": {"rollbackServerGroupName": "a"},
                "north": {"rollbackServerGroupName": "b"},
            },
        },
    )
    plan = RollbackClusterStage().after_stages(stage)
    assert [s.name for s in plan] == ["Rollback east", "Wait after east", "Rollback north"]
    assert plan[0].context["rollbackContext"] == {
        "rollbackServerGroupName": "a",
        "enableAndDisableOnly": True,
    }
    assert plan[0].context["interestingHealthProviderNames"] == ["Amazon"]
    assert plan[1].context == {"waitTime": 30}


def test_test_rollback_only_waits() -> None:
    stage = Stage(
        id="s",
        ref_id="1",
        type="rollbackServerGroup",
        name="Rollback",
        context={"rollbackType": "test", "rollbackContext": {"waitTime": 5}},
    )
    (wait,) = RollbackServerGroupStage().after_stages(stage)
    assert (wait.type, wait.name, wait.context) == ("wait", "wait", {"waitTime": 5})


def _error(cloud: CloudHarness, stage: dict[str, Any]) -> str:
    done = cloud.run_until_complete(cloud.start([{"refId": "1", **stage}], application="shop").id)
    assert done.status == ExecutionStatus.TERMINAL
    found = done.stage_by_ref_id("1")
    assert found is not None
    return str(found.context["exception"]["details"]["error"])


def test_bad_rollbacks_fail_naming_the_field(cloud: CloudHarness) -> None:
    base = {
        "type": "rollbackServerGroup",
        "cloudProvider": "local",
        "credentials": "local",
        "region": "local",
    }
    assert "Missing `rollbackType`" in _error(cloud, base)
    assert "is not one of" in _error(cloud, {**base, "rollbackType": "AUTOMATIC"})
    explicit = {**base, "rollbackType": "EXPLICIT"}
    assert "rollbackContext.rollbackServerGroupName is required" in _error(cloud, explicit)
    no_restore = {**explicit, "rollbackContext": {"rollbackServerGroupName": "shop-web-v001"}}
    assert "rollbackContext.restoreServerGroupName is required" in _error(cloud, no_restore)
    missing = {
        **explicit,
        "rollbackContext": {"rollbackServerGroupName": "shop-web-v001", "restoreServerGroupName": "x"},
    }
    assert "server group 'shop-web-v001' does not exist in local/local" in _error(cloud, missing)
    image = {
        **base,
        "rollbackType": "PREVIOUS_IMAGE",
        "rollbackContext": {"rollbackServerGroupName": "shop-web-v001"},
    }
    assert "Unable to determine rollback image" in _error(cloud, image)
    cluster = {
        "type": "rollbackCluster",
        "cloudProvider": "local",
        "credentials": "local",
        "moniker": {"cluster": "a"},
    }
    assert "regions is required" in _error(cloud, cluster)
