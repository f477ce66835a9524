"""disableCluster and scaleDownCluster run through the engine on real instances, and the
cluster-disable wait's minimum time as a provider setting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gennaker.engine.contracts import TaskRun
from gennaker.model.status import ExecutionStatus
from gennaker.stages.cloud.disable_cluster import DisableClusterTask
from tests.stages.cloud.conftest import CloudHarness, deploy_pipeline
from tests.stages.conftest import Harness

S = ExecutionStatus
ONE = {"min": 1, "max": 1, "desired": 1}
CLUSTER = {"cloudProvider": "local", "credentials": "local", "cluster": "shop-web", "regions": ["local"]}


def _deploys(cloud: CloudHarness, app_dir: Path, count: int) -> None:
    for _ in range(count):
        run = cloud.start(deploy_pipeline("shop", str(app_dir), capacity=ONE)["stages"], application="shop")
        assert cloud.run_until_complete(run.id).status == S.SUCCEEDED


def _run(cloud: CloudHarness, stage: dict[str, Any]) -> Any:
    done = cloud.run_until_complete(cloud.start([{"refId": "1", **stage}], application="shop").id)
    assert done.status == S.SUCCEEDED, [s.context.get("exception") for s in done.stages]
    return done


def test_disable_then_scale_down_leave_the_newest_full_size(cloud: CloudHarness, app_dir: Path) -> None:
    _deploys(cloud, app_dir, 3)
    state = cloud.local.runtimes["local"].state
    done = _run(cloud, {"type": "disableCluster", "remainingEnabledServerGroups": "1", **CLUSTER})
    stage = done.stage_by_ref_id("1")
    assert stage is not None
    assert stage.context["deploy.server.groups"] == {"local": ["shop-web-v001", "shop-web-v000"]}
    assert [t.name for t in stage.tasks] == [
        "disableCluster",
        "monitorDisableCluster",
        "waitForClusterDisable",
    ]
    assert [g.name for g in state.groups() if not g.disabled] == ["shop-web-v002"]
    _run(cloud, {"type": "scaleDownCluster", "remainingFullSizeServerGroups": 1, **CLUSTER})
    sizes = {g.name: g.capacity["desired"] for g in state.groups()}
    assert sizes == {"shop-web-v000": 0, "shop-web-v001": 0, "shop-web-v002": 1}
    assert state.instances("shop-web-v000") == [] and len(state.instances("shop-web-v002")) == 1


def test_a_missing_cluster_fails_unless_told_to_continue(cloud: CloudHarness) -> None:
    run = cloud.start([{"refId": "1", "type": "disableCluster", **CLUSTER}], application="shop")
    done = cloud.run_until_complete(run.id)
    assert done.status == S.TERMINAL
    stage = done.stage_by_ref_id("1")
    assert stage is not None and "No ServerGroups found in cluster shop-web" in str(
        stage.context["exception"]
    )
    _run(cloud, {"type": "disableCluster", "continueIfClusterNotFound": "true", **CLUSTER})
    _run(cloud, {"type": "shrinkCluster", "shrinkToSize": 0, **CLUSTER})


def test_the_disable_wait_keeps_the_providers_minimum_time(
    make_harness: Callable[..., Harness], app_dir: Path
) -> None:
    base = make_harness(
        providers={"local": {"waits": {"disable_cluster_min_time_ms": 45_000, "poll_ms": 1000}}}
    )
    cloud = CloudHarness(base.services)
    try:
        _deploys(cloud, app_dir, 2)
        done = _run(cloud, {"type": "disableCluster", **CLUSTER})
        stage = done.stage_by_ref_id("1")
        assert stage is not None and stage.start_time is not None and stage.end_time is not None
        assert stage.end_time - stage.start_time >= 45_000
        # nothing disabled: no minimum
        again = _run(cloud, {"type": "disableCluster", **CLUSTER}).stage_by_ref_id("1")
        assert again is not None and again.context["deploy.server.groups"] == {}
        assert again.end_time - again.start_time < 45_000  # type: ignore[operator]
    finally:
        cloud.local.stop_all()


def test_a_rerun_of_the_disable_task_finishes_what_it_started(cloud: CloudHarness, app_dir: Path) -> None:
    """A worker that died after disabling re-runs the task under the same attempt: the server
    groups it had acted on are no longer active, yet they stay its selection (and are not acted on
    twice: the recorded operations answer)."""
    _deploys(cloud, app_dir, 3)
    done = _run(cloud, {"type": "disableCluster", **CLUSTER})
    stage = done.stage_by_ref_id("1")
    assert stage is not None
    first = stage.context["deploy.server.groups"]
    ops_before = len(stage.context["kato.tasks"])
    run = TaskRun(done, stage, dict(stage.context), "1", cloud.clock.now_ms(), cloud.services)
    again = asyncio.run(DisableClusterTask().execute(run))
    assert again.status == S.SUCCEEDED
    assert again.context["deploy.server.groups"] == first == {"local": ["shop-web-v001", "shop-web-v000"]}
    assert len(again.context["kato.tasks"]) == ops_before
