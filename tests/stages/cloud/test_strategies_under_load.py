"""Every deploy strategy end to end: real instances of the example service behind a real HAProxy,
a load generator sending 50+ requests per second through the load balancer for the whole deploy.
Each deploy ends with only the new version answering, not one failed request, and exactly the
server groups Orca's rules leave; a version whose health check never passes never takes traffic
and the cluster is rolled back."""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gennaker.model.execution import Execution
from gennaker.model.status import ExecutionStatus
from gennaker.testing import make_services
from gennaker.testing.load import LoadGenerator, generate_load
from tests.conftest import IN_CI
from tests.engine.fakes import EngineTestPlugin
from tests.stages.cloud.conftest import CloudHarness

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("strategies-under-load")]
S = ExecutionStatus
RATE = 60
CHECK = {"path": "/health", "intervalSeconds": 0.5}


@pytest.fixture(autouse=True)
def _haproxy() -> None:
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        if IN_CI:
            pytest.fail("HAProxy is not installed (apt-get install haproxy)")
        pytest.skip("HAProxy is not installed (apt-get install haproxy)")


EXPRESSIONS = {
    "refId": "3",
    "requisiteStageRefIds": ["2"],
    "type": "evaluateVariables",
    "variables": [
        {"key": "all", "value": "${#deployedServerGroups()[0]['serverGroup']}"},
        {"key": "byName", "value": "${#deployedServerGroups('Deploy in local')[0]['serverGroup']}"},
        {"key": "source", "value": "${#stage('Deploy in local')['context']['source']['serverGroupName']}"},
    ],
}


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Shop:
    """The example service deployed as application ``shop``, cluster ``shop-web``, behind the
    load balancer ``shop-web`` on a free port."""

    def __init__(self, harness: CloudHarness, package: Path) -> None:
        self.h = harness
        self.package = str(package)
        self.port = _port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.deploys = 0

    @property
    def state(self) -> Any:
        return self.h.local.runtimes["local"].state

    def groups(self) -> dict[str, dict[str, Any]]:
        """Each server group: capacity, disabled, instance count."""
        return {
            g.name: {
                "capacity": dict(g.capacity),
                "disabled": g.disabled,
                "instances": len(self.state.instances(g.name)),
            }
            for g in self.state.groups()
        }

    def stages(self, version: str, strategy: str, desired: int, **cluster: Any) -> list[dict[str, Any]]:
        spec = {
            "cloudProvider": "local",
            "account": "local",
            "region": "local",
            "application": "shop",
            "stack": "web",
            "freeFormDetails": "",
            "capacity": {"min": desired, "max": desired, "desired": desired},
            "strategy": strategy,
            "command": ["python3", "app.py"],
            "env": {"VERSION": version},
            "healthCheck": CHECK,
            "loadBalancers": ["shop-web"],
            **cluster,
        }
        stages: list[dict[str, Any]] = [
            {"refId": "1", "type": "bake", "name": "Bake", "cloudProvider": "local", "package": self.package},
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "type": "deploy",
                "name": "Deploy",
                "clusters": [spec],
            },
        ]
        if self.deploys == 0:
            stages.insert(
                0,
                {
                    "refId": "lb",
                    "type": "upsertLoadBalancer",
                    "name": "shop-web",
                    "cloudProvider": "local",
                    "account": "local",
                    "region": "local",
                    "listeners": [{"port": self.port, "protocol": "HTTP"}],
                    "healthCheck": CHECK,
                },
            )
            stages[2]["requisiteStageRefIds"] = ["1", "lb"]
        return stages

    def deploy(
        self,
        version: str,
        strategy: str = "",
        desired: int = 2,
        *,
        watch: Callable[[], None] | None = None,
        then: tuple[dict[str, Any], ...] = (),
        **cluster: Any,
    ) -> Execution:
        stages = self.stages(version, strategy, desired, **cluster) + list(then)
        execution = self.h.start(stages, application="shop")
        self.deploys += 1

        def finished() -> bool:
            if watch is not None:
                watch()
            return self.h.get(execution.id).status.is_complete

        self.h.run_until(finished, seconds=180)
        return self.h.get(execution.id)

    def serving(self, load: LoadGenerator, version: str) -> None:
        """Wait (running the agents) until only ``version`` answers."""
        self.h.run_until(
            lambda: len(load.answers) > 20 and all(a.version == version for a in load.answers[-20:]),
            seconds=30,
        )


@pytest.fixture
def shop(app_dir: Path, tmp_path: Path) -> Iterator[Shop]:
    # a short data directory: HAProxy's unix socket paths must stay under 98 characters
    data = tempfile.mkdtemp(prefix="gk-")
    services = make_services(
        f"sqlite:///{tmp_path / 'gennaker.db'}", plugins=(EngineTestPlugin(),), data_dir=data
    )
    harness = CloudHarness(services)
    try:
        yield Shop(harness, app_dir)
    finally:
        harness.local.stop_all()
        services.close()
        shutil.rmtree(data, ignore_errors=True)


def _errors(execution: Execution) -> list[Any]:
    return [(s.name, s.context.get("exception")) for s in execution.stages if s.context.get("exception")]


class DisabledAt:
    """Records (wall clock) when each server group was first seen disabled, checked every round."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.seen: dict[str, float] = {}

    def __call__(self) -> None:
        for name, group in self.shop.groups().items():
            if group["disabled"] and name not in self.seen:
                self.seen[name] = time.time()


def _first(shop: Shop, load: LoadGenerator) -> None:
    done = shop.deploy("1", "", 2)
    assert done.status == S.SUCCEEDED, _errors(done)
    shop.serving(load, "1")


def _synthetic(execution: Execution, parent_type: str = "createServerGroup") -> list[tuple[str, str]]:
    parent = next(s for s in execution.stages if s.type == parent_type)
    return [(s.type, s.name) for s in execution.stages if s.parent_stage_id == parent.id]


def test_highlander_under_load(shop: Shop) -> None:
    with generate_load(shop.url, rate=RATE) as load:
        _first(shop, load)
        started = time.time()
        disabled = DisabledAt(shop)
        done = shop.deploy("2", "highlander", 2, watch=disabled, then=(EXPRESSIONS,))
        assert done.status == S.SUCCEEDED, _errors(done)
        shop.serving(load, "2")
    assert _synthetic(done) == [("shrinkCluster", "shrinkCluster")]
    outputs = done.stage_by_ref_id("3").outputs  # type: ignore[union-attr]
    assert outputs["byName"] == outputs["all"] == "shop-web-v001"
    assert outputs["source"] == "shop-web-v000"
    deploy = next(s for s in done.stages if s.type == "createServerGroup")
    assert deploy.name == "Deploy in local"
    assert deploy.context["deploy.server.groups"] == {"local": ["shop-web-v001"]}
    assert shop.groups() == {
        "shop-web-v001": {"capacity": {"min": 2, "max": 2, "desired": 2}, "disabled": False, "instances": 2}
    }
    during = [a for a in load.answers if a.started >= started]
    assert not [a for a in during if a.failed], load.summary()
    assert len(during) >= 50
    assert {a.version for a in during} == {"1", "2"}
    assert load.answered_by("1", after=disabled.seen.get("shop-web-v000", time.time())) == []


def test_red_black_keeps_two_and_scales_the_old_one_down(shop: Shop) -> None:
    with generate_load(shop.url, rate=RATE) as load:
        _first(shop, load)
        started = time.time()
        watch = DisabledAt(shop)
        options = {"maxRemainingAsgs": 2, "scaleDown": "true"}  # Deck's string booleans
        second = shop.deploy("2", "redblack", 2, watch=watch, **options)
        assert second.status == S.SUCCEEDED, _errors(second)
        shop.serving(load, "2")
        third = shop.deploy("3", "redblack", 2, watch=watch, **options)
        assert third.status == S.SUCCEEDED, _errors(third)
        shop.serving(load, "3")
    assert _synthetic(third) == [
        ("shrinkCluster", "shrinkCluster"),
        ("disableCluster", "disableCluster"),
        ("scaleDownCluster", "scaleDown"),
    ]
    # v000 was shrunk away; v001 is disabled and scaled to zero, ready to be scaled back up
    assert shop.groups() == {
        "shop-web-v001": {"capacity": {"min": 0, "max": 0, "desired": 0}, "disabled": True, "instances": 0},
        "shop-web-v002": {"capacity": {"min": 2, "max": 2, "desired": 2}, "disabled": False, "instances": 2},
    }
    during = [a for a in load.answers if a.started >= started]
    assert not [a for a in during if a.failed], load.summary()
    assert {a.version for a in during} == {"1", "2", "3"}
    assert load.answered_by("1", after=watch.seen["shop-web-v000"]) == []
    assert load.answered_by("2", after=watch.seen["shop-web-v001"]) == []


def test_rolling_red_black_with_a_validation_pipeline(shop: Shop) -> None:
    validation = shop.h.save_pipeline(
        {
            "application": "shop",
            "name": "validate",
            "parameterConfig": [{"name": "suite"}],
            "stages": [{"refId": "1", "type": "wait", "name": "Smoke test", "waitTime": 1}],
        }
    )
    with generate_load(shop.url, rate=RATE) as load:
        done = shop.deploy("1", "", 4)
        assert done.status == S.SUCCEEDED, _errors(done)
        shop.serving(load, "1")
        started = time.time()
        watch = DisabledAt(shop)
        done = shop.deploy(
            "2",
            "rollingredblack",
            4,
            watch=watch,
            targetPercentages=[25, 50],
            pipelineBeforeCleanup={
                "application": "shop",
                "pipelineId": validation["id"],
                "pipelineParameters": {"suite": "smoke"},
            },
        )
        assert done.status == S.SUCCEEDED, _errors(done)
        shop.serving(load, "2")
    steps = []
    for pct in (25, 50, 100):
        steps += [
            ("resizeServerGroup", f"Grow to {pct}% of Desired Size"),
            ("pipeline", "Run Validation Pipeline"),
            ("disableServerGroup", f"Disable {pct}% of Traffic on shop-web-v000"),
        ]
    assert _synthetic(done) == [
        ("determineTargetServerGroup", "Determine Deployed Server Group"),
        ("pinServerGroup", "Pin shop-web-v000"),
        *steps,
        ("pinServerGroup", "Unpin shop-web-v000"),
    ]
    grown = [s.context["capacity"] for s in done.stages if s.name.startswith("Grow to")]
    assert grown == [
        {"min": 1, "max": 1, "desired": 1},
        {"min": 2, "max": 2, "desired": 2},
        {"min": 4, "max": 4, "desired": 4},
    ]
    runs = [shop.h.get(s.context["executionId"]) for s in done.stages if s.type == "pipeline"]
    assert [r.trigger["parameters"]["percentageComplete"] for r in runs] == [25, 50, 100]
    assert {r.trigger["parameters"]["deployedServerGroup"]["serverGroupName"] for r in runs} == {
        "shop-web-v001"
    }
    assert {r.trigger["parameters"]["sourceServerGroup"]["serverGroupName"] for r in runs} == {
        "shop-web-v000"
    }
    assert {r.trigger["parameters"]["suite"] for r in runs} == {"smoke"}
    # rolling red/black keeps the source (disabled, unpinned); nothing is shrunk
    assert shop.groups() == {
        "shop-web-v000": {"capacity": {"min": 4, "max": 4, "desired": 4}, "disabled": True, "instances": 4},
        "shop-web-v001": {"capacity": {"min": 4, "max": 4, "desired": 4}, "disabled": False, "instances": 4},
    }
    during = [a for a in load.answers if a.started >= started]
    assert not [a for a in during if a.failed], load.summary()
    assert load.answered_by("1", after=watch.seen["shop-web-v000"]) == []


def test_custom_strategy_pipeline(shop: Shop) -> None:
    with shop.h.services.db.transaction() as conn:
        strategy = shop.h.services.strategies.save(
            conn,
            {
                "application": "shop",
                "name": "deploy then disable the rest",
                "stages": [
                    {"refId": "1", "type": "deploy", "name": "Deploy", "clusters": []},
                    {
                        "refId": "2",
                        "requisiteStageRefIds": ["1"],
                        "type": "disableCluster",
                        "name": "Disable the others",
                        "remainingEnabledServerGroups": 1,
                        "preferLargerOverNewer": False,
                    },
                ],
            },
            user="tester",
        )
    with generate_load(shop.url, rate=RATE) as load:
        _first(shop, load)
        started = time.time()
        done = shop.deploy(
            "2",
            "custom",
            2,
            strategyApplication="shop",
            strategyPipeline=strategy["id"],
            pipelineParameters={"ticket": "CHG-1"},
        )
        assert done.status == S.SUCCEEDED, _errors(done)
        shop.serving(load, "2")
    create = next(s for s in done.stages if s.type == "createServerGroup")
    assert [t.name for t in create.tasks] == ["determineSourceServerGroup", "determineHealthProviders"]
    assert _synthetic(done) == [("pipeline", "pipeline")]
    child = shop.h.get(next(s for s in done.stages if s.type == "pipeline").context["executionId"])
    assert child.status == S.SUCCEEDED, _errors(child)
    params = child.trigger["parameters"]
    assert {
        k: params[k]
        for k in (
            "application",
            "credentials",
            "cluster",
            "region",
            "cloudProvider",
            "strategy",
            "clone",
            "parentStageId",
            "ticket",
        )
    } == {
        "application": "shop",
        "credentials": "local",
        "cluster": "shop-web",
        "region": "local",
        "cloudProvider": "local",
        "strategy": True,
        "clone": False,
        "parentStageId": create.id,
        "ticket": "CHG-1",
    }
    assert params["parentPipelineId"] == done.id
    assert shop.groups() == {
        "shop-web-v000": {"capacity": {"min": 2, "max": 2, "desired": 2}, "disabled": True, "instances": 2},
        "shop-web-v001": {"capacity": {"min": 2, "max": 2, "desired": 2}, "disabled": False, "instances": 2},
    }
    during = [a for a in load.answers if a.started >= started]
    assert not [a for a in during if a.failed], load.summary()


def test_a_version_that_never_gets_healthy_is_rolled_back(shop: Shop) -> None:
    with generate_load(shop.url, rate=RATE) as load:
        _first(shop, load)
        started = time.time()
        done = shop.deploy(
            "2",
            "redblack",
            2,
            env={"VERSION": "2", "HEALTHY": "false"},
            rollback={"onFailure": True},
            stageTimeoutMs=20_000,
        )
    assert done.status == S.TERMINAL
    deploy = next(s for s in done.stages if s.type == "createServerGroup")
    assert deploy.status == S.TERMINAL
    assert _synthetic(done) == [("rollbackCluster", "Rollback shop-web")]
    rollback = next(s for s in done.stages if s.type == "rollbackCluster")
    assert rollback.status == S.SUCCEEDED, _errors(done)
    during = [a for a in load.answers if a.started >= started]
    assert len(during) >= 50
    assert not [a for a in during if a.failed], load.summary()
    assert {a.version for a in during} == {"1"}  # the new group never took a request
    groups = shop.groups()
    assert groups["shop-web-v000"]["disabled"] is False
    assert groups["shop-web-v001"]["disabled"] is True


def test_a_failed_rolling_validation_rolls_back_and_unpins_the_source(shop: Shop) -> None:
    failing = shop.h.save_pipeline(
        {
            "application": "shop",
            "name": "validate-and-fail",
            "stages": [{"refId": "1", "type": "fail", "name": "Smoke test", "message": "smoke test failed"}],
        }
    )
    with generate_load(shop.url, rate=RATE) as load:
        first = shop.deploy("1", "", 4, capacity={"min": 2, "max": 4, "desired": 4})
        assert first.status == S.SUCCEEDED, _errors(first)
        shop.serving(load, "1")
        started = time.time()
        done = shop.deploy(
            "2",
            "rollingredblack",
            4,
            capacity={"min": 2, "max": 4, "desired": 4},
            targetPercentages=[25, 50],
            pipelineBeforeCleanup={"application": "shop", "pipelineId": failing["id"]},
            rollback={"onFailure": True},
        )
        shop.serving(load, "1")
    assert done.status == S.TERMINAL
    planned = _synthetic(done)
    assert planned[:4] == [
        ("determineTargetServerGroup", "Determine Deployed Server Group"),
        ("pinServerGroup", "Pin shop-web-v000"),
        ("resizeServerGroup", "Grow to 25% of Desired Size"),
        ("pipeline", "Run Validation Pipeline"),
    ]
    assert planned[4:] == [
        ("rollbackCluster", "Rollback shop-web"),
        ("pinServerGroup", "Unpin shop-web-v000"),
    ]
    assert all(
        s.status == S.SUCCEEDED for s in done.stages if s.name in ("Rollback shop-web", "Unpin shop-web-v000")
    )
    groups = shop.groups()
    # the source serves again with its own min back; the new group is out of the load balancer
    assert groups["shop-web-v000"] == {
        "capacity": {"min": 2, "max": 4, "desired": 4},
        "disabled": False,
        "instances": 4,
    }
    assert groups["shop-web-v001"]["disabled"] is True
    during = [a for a in load.answers if a.started >= started]
    assert not [a for a in during if a.failed], load.summary()
