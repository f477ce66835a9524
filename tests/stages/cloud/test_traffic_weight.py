"""trafficWeight on a real HAProxy: each instance of the server group is a backend server of that
weight, so it takes that share of the requests; a bad value fails the deploy naming the field."""

from __future__ import annotations

from pathlib import Path

from gennaker.model.status import ExecutionStatus as S
from tests.stages.cloud.conftest import CloudHarness, deploy_pipeline
from tests.stages.cloud.test_load_balancers import _answers, _haproxy, _lb, _port, lb_cloud  # noqa: F401


def test_instances_serve_with_the_server_groups_weight(lb_cloud: CloudHarness, app_dir: Path) -> None:  # noqa: F811
    port = _port()
    stages = [
        _lb(port),
        *deploy_pipeline(
            "shop",
            str(app_dir),
            loadBalancers=["shop-web"],
            trafficWeight=10,
            healthCheck={"path": "/health", "intervalSeconds": 0.5},
        )["stages"],
    ]
    stages[2]["requisiteStageRefIds"] = ["1", "lb"]
    done = lb_cloud.run_until_complete(lb_cloud.start(stages, application="shop").id)
    assert done.status == S.SUCCEEDED, [s.context.get("exception") for s in done.stages]
    lb_cloud.run_until(lambda: _answers(port) == {"shop-web-v000-0", "shop-web-v000-1"})
    status = lb_cloud.local.runtimes["local"].traffic.status()
    weights = {server: s.weight for (frontend, server), s in status.items() if frontend == "shop-web"}
    assert weights == {"shop-web-v000-0": 10, "shop-web-v000-1": 10}


def test_a_bad_weight_fails_the_deploy_and_names_the_field(lb_cloud: CloudHarness, app_dir: Path) -> None:  # noqa: F811
    pipeline = deploy_pipeline("shop", str(app_dir), trafficWeight=1000)
    done = lb_cloud.run_until_complete(lb_cloud.start(pipeline["stages"], application="shop").id)
    assert done.status == S.TERMINAL
    errors = [str(s.context.get("exception")) for s in done.stages if s.context.get("exception")]
    assert any("trafficWeight must be a whole number from 0 to 256" in e for e in errors), errors
    assert lb_cloud.local.runtimes["local"].state.groups() == []
