"""The highlander strategy (shrinkCluster after a disableCluster, planned by the strategy, not
the engine), checkPreconditions clusterSize, and #deployedServerGroups()."""

from __future__ import annotations

from pathlib import Path

from gennaker.model.status import ExecutionStatus
from tests.stages.cloud.conftest import CloudHarness, deploy_pipeline

S = ExecutionStatus
ONE = {"min": 1, "max": 1, "desired": 1}


def test_highlander_leaves_only_the_new_server_group(cloud: CloudHarness, app_dir: Path) -> None:
    for _ in range(2):
        first = cloud.start(deploy_pipeline("shop", str(app_dir), capacity=ONE)["stages"], application="shop")
        assert cloud.run_until_complete(first.id).status == S.SUCCEEDED
    state = cloud.local.runtimes["local"].state
    assert [g.name for g in state.groups()] == ["shop-web-v000", "shop-web-v001"]
    third = cloud.start(
        deploy_pipeline("shop", str(app_dir), capacity=ONE, strategy="highlander")["stages"],
        application="shop",
    )
    done = cloud.run_until_complete(third.id)
    assert done.status == S.SUCCEEDED, [s.context.get("exception") for s in done.stages]
    assert [g.name for g in state.groups()] == ["shop-web-v002"]
    types = [s.type for s in done.stages]
    assert types.index("createServerGroup") < types.index("disableCluster") < types.index("shrinkCluster")
    shrink = next(s for s in done.stages if s.type == "shrinkCluster")
    assert sorted(shrink.context["deploy.server.groups"]["local"]) == ["shop-web-v000", "shop-web-v001"]


def test_cluster_size_precondition_and_deployed_server_groups(cloud: CloudHarness, app_dir: Path) -> None:
    stages = deploy_pipeline("shop", str(app_dir), capacity=ONE)["stages"]
    stages += [
        {
            "refId": "3",
            "requisiteStageRefIds": ["2"],
            "type": "checkPreconditions",
            "preconditions": [
                {
                    "type": "clusterSize",
                    "context": {
                        "cluster": "shop-web",
                        "credentials": "local",
                        "regions": ["local"],
                        "expected": 1,
                        "cloudProvider": "local",
                    },
                },
            ],
        },
        {
            "refId": "4",
            "requisiteStageRefIds": ["3"],
            "type": "evaluateVariables",
            "variables": [{"key": "deployed", "value": "${#deployedServerGroups()[0]['serverGroup']}"}],
        },
        {
            "refId": "5",
            "requisiteStageRefIds": ["4"],
            "type": "checkPreconditions",
            "preconditions": [
                {
                    "type": "clusterSize",
                    "context": {
                        "cluster": "shop-web",
                        "credentials": "local",
                        "regions": ["local"],
                        "comparison": ">",
                        "expected": 1,
                        "cloudProvider": "local",
                    },
                },
            ],
        },
    ]
    done = cloud.run_until_complete(cloud.start(stages, application="shop").id)
    assert done.stage_by_ref_id("3").status == S.SUCCEEDED  # type: ignore[union-attr]
    assert done.stage_by_ref_id("4").outputs["deployed"] == "shop-web-v000"  # type: ignore[union-attr]
    failed = done.stage_by_ref_id("5")
    assert failed is not None and failed.status == S.TERMINAL
    child = next(s for s in done.stages if s.parent_stage_id == failed.id)
    assert "expected > 1 server groups in local" in child.context["exception"]["details"]["error"]
    assert "found 1" in child.context["exception"]["details"]["error"]
