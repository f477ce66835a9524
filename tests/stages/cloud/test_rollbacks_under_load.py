"""Rollbacks and traffic guards end to end: real instances behind a real HAProxy, a load generator
sending 50+ requests per second through it the whole time and counting every failure.

- rollbackServerGroup EXPLICIT and rollbackCluster bring the previous version back with zero failed
  requests (PREVIOUS_IMAGE clones forward with red/black, which runs where that strategy exists);
- a traffic guard refuses to disable the last enabled server group of a guarded cluster (TERMINAL,
  Orca's message), and the version keeps answering;
- two disables racing on the two server groups of a guarded cluster leave one enabled.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gennaker.model.status import ExecutionStatus
from gennaker.providers.operations import operation_id
from gennaker.providers.protocol import OperationRequest
from gennaker.stages.cloud.strategies import strategy_for
from gennaker.testing.load import generate_load
from tests.conftest import IN_CI
from tests.stages.cloud.conftest import CloudHarness, deploy_pipeline
from tests.stages.conftest import Harness

S = ExecutionStatus
TWO = {"min": 2, "max": 2, "desired": 2}
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _haproxy() -> None:
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        if IN_CI:
            pytest.fail("HAProxy is not installed (apt-get install haproxy)")
        pytest.skip("HAProxy is not installed (apt-get install haproxy)")


@pytest.fixture
def lb_cloud(make_harness: Callable[..., Harness]) -> Iterator[CloudHarness]:
    data = tempfile.mkdtemp(prefix="gk-")  # HAProxy's unix socket paths must stay short
    # a port range of its own: other test runs on this machine deploy into the default one
    low = random.randrange(30000, 59000, 200)
    accounts = [{"name": "local", "port_range": [low, low + 199]}]
    harness = CloudHarness(make_harness(data_dir=data, providers={"local": {"accounts": accounts}}).services)
    yield harness
    harness.local.stop_all()
    shutil.rmtree(data, ignore_errors=True)


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _lb(port: int) -> dict[str, Any]:
    return {
        "refId": "lb",
        "type": "upsertLoadBalancer",
        "name": "shop-web",
        "cloudProvider": "local",
        "account": "local",
        "region": "local",
        "listeners": [{"port": port, "protocol": "HTTP"}],
        "healthCheck": {"path": "/health", "intervalSeconds": 0.5},
    }


def _run(cloud: CloudHarness, stages: list[dict[str, Any]]) -> Any:
    done = cloud.run_until_complete(cloud.start(stages, application="shop").id, seconds=90)
    return done


def _two_versions(cloud: CloudHarness, app_dir: Path, port: int) -> None:
    """v000 (VERSION 1) and v001 (VERSION 2) behind the load balancer, v000 disabled."""
    first = deploy_pipeline("shop", str(app_dir), capacity=TWO, loadBalancers=["shop-web"])["stages"]
    first[1]["requisiteStageRefIds"] = ["1", "lb"]
    assert _run(cloud, [_lb(port), *first]).status == S.SUCCEEDED
    second = deploy_pipeline(
        "shop", str(app_dir), capacity=TWO, loadBalancers=["shop-web"], env={"VERSION": "2"}
    )["stages"]
    assert _run(cloud, second).status == S.SUCCEEDED
    disable = {
        "refId": "1",
        "type": "disableServerGroup",
        "cloudProvider": "local",
        "credentials": "local",
        "region": "local",
        "serverGroupName": "shop-web-v000",
    }
    assert _run(cloud, [disable]).status == S.SUCCEEDED


def _enabled(cloud: CloudHarness) -> list[str]:
    return [g.name for g in cloud.local.runtimes["local"].state.groups() if not g.disabled]


def _explicit(**extra: Any) -> dict[str, Any]:
    return {
        "refId": "1",
        "type": "rollbackServerGroup",
        "cloudProvider": "local",
        "credentials": "local",
        "region": "local",
        "moniker": {"app": "shop", "cluster": "shop-web", "stack": "web"},
        "rollbackType": "EXPLICIT",
        "rollbackContext": {
            "rollbackServerGroupName": "shop-web-v001",
            "restoreServerGroupName": "shop-web-v000",
            "targetHealthyRollbackPercentage": 100,
            **extra,
        },
    }


def test_explicit_rollback_brings_the_previous_version_back_under_load(
    lb_cloud: CloudHarness, app_dir: Path
) -> None:
    port = _port()
    _two_versions(lb_cloud, app_dir, port)
    with generate_load(f"http://127.0.0.1:{port}/", rate=60) as load:
        load.wait_for_only("2", count=20)
        done = _run(lb_cloud, [_explicit()])
        assert done.status == S.SUCCEEDED, [s.context.get("exception") for s in done.stages]
        load.wait_for_only("1", count=30)
    load.assert_no_failures(minimum=50)
    assert _enabled(lb_cloud) == ["shop-web-v000"]
    names = [s.name for s in done.stages if s.parent_stage_id]
    assert names == ["Enable shop-web-v000 due to rollback", "Disable shop-web-v001 due to rollback"]


def test_rollback_cluster_rolls_the_newest_enabled_back_under_load(
    lb_cloud: CloudHarness, app_dir: Path
) -> None:
    port = _port()
    _two_versions(lb_cloud, app_dir, port)
    stage = {
        "refId": "1",
        "type": "rollbackCluster",
        "cloudProvider": "local",
        "credentials": "local",
        "regions": ["local"],
        "moniker": {"app": "shop", "cluster": "shop-web", "stack": "web"},
    }
    with generate_load(f"http://127.0.0.1:{port}/", rate=60) as load:
        try:
            load.wait_for_only("2", count=20, timeout=10)
        except AssertionError:
            raise AssertionError(str(load.summary())) from None
        done = _run(lb_cloud, [stage])
        assert done.status == S.SUCCEEDED, [s.context.get("exception") for s in done.stages]
        load.wait_for_only("1", count=30)
    load.assert_no_failures(minimum=50)
    assert _enabled(lb_cloud) == ["shop-web-v000"]
    top = done.stage_by_ref_id("1")
    assert top is not None
    assert top.outputs["rollbackTypes"] == {"local": "EXPLICIT"}
    assert top.outputs["rollbackContexts"]["local"] == {
        "rollbackServerGroupName": "shop-web-v001",
        "restoreServerGroupName": "shop-web-v000",
        "targetHealthyRollbackPercentage": 100,
    }
    assert "Rollback local" in [s.name for s in done.stages]
    (image,) = top.context["imagesToRestore"]
    assert image["region"] == "local" and image["rollbackMethod"] == "EXPLICIT"
    assert (
        image["image"]
        == lb_cloud.local.images.get(  # the restored server group's image
            lb_cloud.local.runtimes["local"].state.group("shop-web-v000").image_id  # type: ignore[union-attr]
        ).name
    )  # type: ignore[union-attr]


def _versioned_image(app_dir: Path, version: str) -> None:
    """The example service, answering the version written into its image (not its env)."""
    app = app_dir / "app.py"
    text = app.read_text()
    marker = 'VERSION = os.environ.get("VERSION", "0")'
    if marker in text:
        app.write_text(text.replace(marker, 'VERSION = open("VERSION.txt").read().strip()'))
    (app_dir / "VERSION.txt").write_text(version + "\n")


@pytest.mark.skipif(
    strategy_for("redblack") is None, reason="PREVIOUS_IMAGE clones with the redblack strategy"
)
def test_previous_image_rollback_clones_the_old_image_forward(lb_cloud: CloudHarness, app_dir: Path) -> None:
    port = _port()
    _versioned_image(app_dir, "1")
    first = deploy_pipeline("shop", str(app_dir), capacity=TWO, loadBalancers=["shop-web"])["stages"]
    first[1]["requisiteStageRefIds"] = ["1", "lb"]
    assert _run(lb_cloud, [_lb(port), *first]).status == S.SUCCEEDED
    state = lb_cloud.local.runtimes["local"].state
    old_image = state.group("shop-web-v000").image_id  # type: ignore[union-attr]
    _versioned_image(app_dir, "2")  # new content: a new image
    second = deploy_pipeline(
        "shop", str(app_dir), capacity=TWO, loadBalancers=["shop-web"], strategy="highlander"
    )
    assert _run(lb_cloud, second["stages"]).status == S.SUCCEEDED
    assert state.group("shop-web-v001").image_id != old_image  # type: ignore[union-attr]
    stage = {
        "refId": "1",
        "type": "rollbackServerGroup",
        "cloudProvider": "local",
        "credentials": "local",
        "region": "local",
        "rollbackType": "PREVIOUS_IMAGE",
        "rollbackContext": {"rollbackServerGroupName": "shop-web-v001", "imageId": old_image},
    }
    with generate_load(f"http://127.0.0.1:{port}/", rate=60) as load:
        load.wait_for_only("2", count=20)
        done = _run(lb_cloud, [stage])
        assert done.status == S.SUCCEEDED, [s.context.get("exception") for s in done.stages]
        load.wait_for_only("1", count=30)
    load.assert_no_failures(minimum=50)
    assert state.group("shop-web-v002").image_id == old_image  # type: ignore[union-attr]
    assert _enabled(lb_cloud) == ["shop-web-v002"]
    clone = next(s for s in done.stages if s.type == "cloneServerGroup")
    assert clone.name == "clone" and clone.context["strategy"] == "redblack"


def _guard(cloud: CloudHarness) -> None:
    with cloud.services.db.transaction() as conn:
        cloud.services.applications.create(
            conn,
            {
                "name": "shop",
                "email": "team@example.com",
                "trafficGuards": [
                    {"account": "local", "location": "*", "stack": "web", "detail": "", "enabled": True}
                ],
            },
        )


def test_traffic_guard_refuses_to_disable_the_last_enabled_server_group(
    lb_cloud: CloudHarness, app_dir: Path
) -> None:
    port = _port()
    _guard(lb_cloud)
    first = deploy_pipeline("shop", str(app_dir), capacity=TWO, loadBalancers=["shop-web"])["stages"]
    first[1]["requisiteStageRefIds"] = ["1", "lb"]
    assert _run(lb_cloud, [_lb(port), *first]).status == S.SUCCEEDED
    disable = {
        "refId": "1",
        "type": "disableServerGroup",
        "cloudProvider": "local",
        "credentials": "local",
        "region": "local",
        "serverGroupName": "shop-web-v000",
    }
    with generate_load(f"http://127.0.0.1:{port}/", rate=60) as load:
        load.wait_for(lambda answers: len(answers) >= 20)
        done = _run(lb_cloud, [disable])
        load.wait_for(lambda answers: len(answers) >= 60)
    load.assert_no_failures(minimum=50)
    assert done.status == S.TERMINAL
    errors = [
        e
        for s in done.stages
        for e in (s.context.get("exception") or {}).get("details", {}).get("errors", [])
    ]
    assert (
        "This cluster ('shop-web' in local/local) has traffic guards enabled. Disabling [shop-web-v000] "
        "would leave the cluster with no instances up."
    ) in errors
    assert _enabled(lb_cloud) == ["shop-web-v000"]


def test_two_disables_racing_on_a_guarded_cluster_leave_one_enabled(
    lb_cloud: CloudHarness, app_dir: Path
) -> None:
    port = _port()
    _guard(lb_cloud)
    first = deploy_pipeline("shop", str(app_dir), capacity=TWO, loadBalancers=["shop-web"])["stages"]
    first[1]["requisiteStageRefIds"] = ["1", "lb"]
    assert _run(lb_cloud, [_lb(port), *first]).status == S.SUCCEEDED
    second = deploy_pipeline(
        "shop", str(app_dir), capacity=TWO, loadBalancers=["shop-web"], env={"VERSION": "2"}
    )
    assert _run(lb_cloud, second["stages"]).status == S.SUCCEEDED
    provider = lb_cloud.local
    operations = lb_cloud.services.clouddriver.operations

    def request(name: str) -> OperationRequest:
        description = {"serverGroupName": name, "region": "local", "credentials": "local"}
        return OperationRequest(
            operation_id(name, "disableServerGroup"), "disableServerGroup", description, "local", "shop"
        )

    async def race() -> list[Any]:
        return list(
            await asyncio.gather(
                operations.submit(provider, request("shop-web-v000")),
                operations.submit(provider, request("shop-web-v001")),
            )
        )

    with generate_load(f"http://127.0.0.1:{port}/", rate=60) as load:
        load.wait_for(lambda answers: len(answers) >= 20)
        records = asyncio.run(race())
        load.wait_for(lambda answers: len(answers) >= 60)
    load.assert_no_failures(minimum=50)
    assert sorted(r.status for r in records) == ["FAILED", "SUCCEEDED"]
    refused = next(r for r in records if r.status == "FAILED")
    assert "has traffic guards enabled" in str(refused.error)
    assert len(_enabled(lb_cloud)) == 1
