"""Load balancers on a real HAProxy: a server group behind one answers through it; a partial
disable takes its share out; kill -9 of HAProxy is repaired with the current backends; a port
used by something else and a missing HAProxy fail the stage with a message, changing nothing."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gennaker.model.status import ExecutionStatus
from tests.conftest import IN_CI
from tests.stages.cloud.conftest import CloudHarness, deploy_pipeline
from tests.stages.conftest import Harness

S = ExecutionStatus


@pytest.fixture(autouse=True)
def _haproxy() -> None:
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        if IN_CI:
            pytest.fail("HAProxy is not installed (apt-get install haproxy)")
        pytest.skip("HAProxy is not installed (apt-get install haproxy)")


@pytest.fixture
def lb_cloud(make_harness: Callable[..., Harness]) -> Iterator[CloudHarness]:
    # a short data directory: HAProxy's unix socket paths must stay under 98 characters
    data = tempfile.mkdtemp(prefix="gk-")
    harness = CloudHarness(make_harness(data_dir=data).services)
    yield harness
    harness.local.stop_all()
    shutil.rmtree(data, ignore_errors=True)


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _lb(port: int, name: str = "shop-web") -> dict[str, Any]:
    return {
        "refId": "lb",
        "type": "upsertLoadBalancer",
        "name": name,
        "cloudProvider": "local",
        "account": "local",
        "region": "local",
        "listeners": [{"port": port, "protocol": "HTTP"}],
        "healthCheck": {"path": "/health", "intervalSeconds": 0.5},
    }


def _answers(port: int, count: int = 12) -> set[str | None]:
    seen: set[str | None] = set()
    for _ in range(count):
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/", timeout=3)
            seen.add(response.json()["instance"] if response.status_code == 200 else None)
        except (httpx.TransportError, ValueError):
            seen.add(None)
    return seen


def test_behind_haproxy_partial_disable_and_haproxy_restart(lb_cloud: CloudHarness, app_dir: Path) -> None:
    port = _port()
    stages = [
        _lb(port),
        *deploy_pipeline(
            "shop",
            str(app_dir),
            loadBalancers=["shop-web"],
            healthCheck={"path": "/health", "intervalSeconds": 0.5},
        )["stages"],
    ]
    stages[2]["requisiteStageRefIds"] = ["1", "lb"]
    done = lb_cloud.run_until_complete(lb_cloud.start(stages, application="shop").id)
    assert done.status == S.SUCCEEDED, [s.context.get("exception") for s in done.stages]
    lb_cloud.run_until(lambda: _answers(port) == {"shop-web-v000-0", "shop-web-v000-1"})
    partial = lb_cloud.start(
        [
            {
                "refId": "1",
                "type": "disableServerGroup",
                "cloudProvider": "local",
                "credentials": "local",
                "region": "local",
                "serverGroupName": "shop-web-v000",
                "desiredPercentage": 50,
                "drainSeconds": 0,
            }
        ],
        application="shop",
    )
    finished = lb_cloud.run_until_complete(partial.id)
    assert finished.status == S.SUCCEEDED, [s.context.get("exception") for s in finished.stages]
    assert finished.stages[0].context["instanceIdsToDisable"] == ["shop-web-v000-0"]
    assert _answers(port) == {"shop-web-v000-1"}
    state = lb_cloud.local.runtimes["local"].state
    assert state.group("shop-web-v000").disabled is False  # type: ignore[union-attr]
    # kill -9 of every HAProxy process of this account (master and worker)
    ours = _haproxy_pids(str(lb_cloud.local.runtimes["local"].directory))
    assert ours
    for pid in ours:
        os.kill(pid, signal.SIGKILL)
    lb_cloud.run_until(lambda: _answers(port, 6) == {"shop-web-v000-1"})


def _haproxy_pids(directory: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "haproxy" and "gk-" in (
                    entry / "cmdline"
                ).read_text():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_port_in_use_and_a_missing_haproxy_fail_with_a_message(
    make_harness: Callable[..., Harness], lb_cloud: CloudHarness
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = lb_cloud.run_until_complete(lb_cloud.start([_lb(port)], application="shop").id)
    assert done.status == S.TERMINAL
    error = done.stages[0].context["exception"]["details"]["error"]
    assert str(port) in error
    assert lb_cloud.local.runtimes["local"].state.load_balancers() == []
    data = tempfile.mkdtemp(prefix="gk-")
    missing = CloudHarness(
        make_harness(
            data_dir=data,
            **{"providers.local.accounts": [{"name": "local", "haproxy_path": "/nonexistent/haproxy"}]},
        ).services
    )
    try:
        done = missing.run_until_complete(missing.start([_lb(_port())], application="shop").id)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    assert done.status == S.TERMINAL
    assert "haproxy" in done.stages[0].context["exception"]["details"]["error"].lower()
    assert missing.local.runtimes["local"].state.load_balancers() == []
