"""Bad deploy input ends the stage TERMINAL with a message naming the field and the fix, and
creates nothing: no server group row, no process. Repeating an operation id acts once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gennaker.model.status import ExecutionStatus
from gennaker.providers.operations import SUCCEEDED
from gennaker.providers.protocol import OperationRequest
from tests.stages.cloud.conftest import CloudHarness, deploy_pipeline
from tests.stages.conftest import Harness

S = ExecutionStatus


def _error(cloud: CloudHarness, app_dir: Path, **cluster: Any) -> str:
    execution = cloud.start(deploy_pipeline("shop", str(app_dir), **cluster)["stages"], application="shop")
    done = cloud.run_until_complete(execution.id)
    assert done.status == S.TERMINAL
    child = next(s for s in done.stages if s.type == "createServerGroup")
    assert cloud.local.runtimes["local"].state.groups() == []
    assert cloud.local.runtimes["local"].state.instances() == []
    return str(child.context["exception"]["details"]["error"])


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        ({"command": "python3 app.py"}, "command must be a list of arguments, not a string"),
        ({"capacity": {"min": 3, "max": 1, "desired": 2}}, "min (3) is greater than max (1)"),
        ({"imageId": "sha256:0000"}, "image 'sha256:0000' does not exist"),
        ({"loadBalancers": ["shop-nope"]}, "load balancer 'shop-nope' does not exist"),
        ({"env": ["A=1"]}, "env must be an object"),
        ({"healthCheck": {"path": "health"}}, "healthCheck.path must start with '/'"),
        ({"strategy": "monitored"}, "the monitored strategy (a deployment monitor service) is not available"),
        (
            {"strategy": "rollingredblack", "targetPercentages": [50, "x"]},
            "targetPercentages[1] must be a whole percentage between 1 and 100 (got 'x')",
        ),
        ({"strategy": "rollingredblack", "targetPercentages": [50, 25]}, "targetPercentages must increase"),
        ({"strategy": "custom", "strategyApplication": "shop"}, "the custom strategy needs strategyPipeline"),
    ],
)
def test_bad_cluster_fields_fail_with_a_message(
    cloud: CloudHarness, app_dir: Path, cluster: dict[str, Any], expected: str
) -> None:
    assert expected in _error(cloud, app_dir, **cluster)


def test_an_exhausted_port_range_creates_nothing(make_harness: Callable[..., Harness], app_dir: Path) -> None:
    base = make_harness(**{"providers.local.accounts": [{"name": "local", "port_range": [29990, 29990]}]})
    cloud = CloudHarness(base.services)
    try:
        message = _error(cloud, app_dir)
    finally:
        cloud.local.stop_all()
    assert "the port range 29990-29990 of account local is exhausted" in message
    assert "widen port_range" in message


def test_the_same_operation_id_acts_once(cloud: CloudHarness, app_dir: Path) -> None:
    import asyncio

    clouddriver = cloud.services.clouddriver
    provider = clouddriver.registry.get("local")
    baked = asyncio.run(
        clouddriver.operations.submit(
            provider, OperationRequest("bake-1", "bake", {"package": str(app_dir)}, "local", "shop")
        )
    )
    assert baked.status == SUCCEEDED and baked.result is not None
    description = {
        "application": "shop",
        "stack": "api",
        "command": ["python3", "app.py"],
        "imageId": baked.result["imageId"],
        "capacity": {"min": 1, "max": 1, "desired": 1},
    }
    request = OperationRequest("op-1", "createServerGroup", description, "local", "shop")
    first = asyncio.run(clouddriver.operations.submit(provider, request))
    second = asyncio.run(clouddriver.operations.submit(provider, request))
    assert first.status == second.status == SUCCEEDED
    assert first.result == second.result
    assert [g.name for g in cloud.local.runtimes["local"].state.groups()] == ["shop-api-v000"]
