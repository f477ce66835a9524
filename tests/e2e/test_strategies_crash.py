"""Crash safety of the strategies on a real ``gennaker up``: kill -9 of the worker in the middle of
a red/black (while it disables the old server group) and during a rolling red/black step; the
restarted Gennaker completes the execution with exactly one new server group, the old one
disabled (never both), and the load balancer kept answering throughout."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gennaker.testing.load import generate_load
from tests.e2e.test_local_provider import EXAMPLE, GENNAKER, Up, _free_port, require_haproxy

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-local"), pytest.mark.timeout(400)]
CHECK = {"path": "/health", "intervalSeconds": 0.5}


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[Up, Path]]:
    require_haproxy()
    package = tmp_path / "hello"
    shutil.copytree(EXAMPLE, package)
    base = tmp_path / "home"
    base.mkdir()
    # The cluster-disable wait lasts at least 4 s (Orca's minimum, a setting): a window the kill
    # lands in however loaded the machine (a drain with no open connections is otherwise instant).
    up = Up(
        base,
        GENNAKER_WORKER__LEASE_SECONDS="3",
        GENNAKER_PROVIDERS__LOCAL__WAITS__DISABLE_CLUSTER_MIN_TIME_MS="4000",
    )
    try:
        yield up, package
    finally:
        up.stop()
        subprocess.run(
            [GENNAKER, "local", "stop-all", "--yes"], env=up.env, cwd=base, capture_output=True, timeout=120
        )


def _job(package: Path, lb_port: int, version: str, strategy: str, **cluster: Any) -> list[dict[str, Any]]:
    return [
        {
            "refId": "lb",
            "type": "upsertLoadBalancer",
            "name": "shop-web",
            "cloudProvider": "local",
            "account": "local",
            "region": "local",
            "listeners": [{"port": lb_port, "protocol": "HTTP"}],
            "healthCheck": CHECK,
        },
        {"refId": "1", "type": "bake", "cloudProvider": "local", "package": str(package)},
        {
            "refId": "2",
            "requisiteStageRefIds": ["1", "lb"],
            "type": "deploy",
            "clusters": [
                {
                    "cloudProvider": "local",
                    "account": "local",
                    "region": "local",
                    "application": "shop",
                    "stack": "web",
                    "capacity": {"min": 2, "max": 2, "desired": 2},
                    "strategy": strategy,
                    "command": [sys.executable, "app.py"],
                    "env": {"VERSION": version},
                    "healthCheck": CHECK,
                    "loadBalancers": ["shop-web"],
                    # long drains keep each disable running long enough to be interrupted
                    "drainSeconds": 3,
                    **cluster,
                }
            ],
        },
    ]


def _start(up: Up, stages: list[dict[str, Any]]) -> str:
    body = {"application": "shop", "description": "deploy", "job": stages}
    ref = str(up.post("/applications/shop/tasks", body)["ref"])
    return ref.replace("/tasks/", "/pipelines/")  # the execution JSON, with its stages


def _started(up: Up, ref: str, name_prefix: str) -> bool:
    """The stage has started (a quick one may have finished) and the execution has not."""
    found = up.get(ref)
    return found.get("status") == "RUNNING" and any(
        s.get("name", "").startswith(name_prefix) and s.get("status") in ("RUNNING", "SUCCEEDED")
        for s in found.get("stages") or []
    )


def _groups(up: Up) -> dict[str, dict[str, Any]]:
    return {
        g["name"]: {"disabled": g["isDisabled"], "instances": len(g["instances"])}
        for g in up.get("/applications/shop/serverGroups")
    }


def _crash_and_resume(up: Up, ref: str, stage_prefix: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while not _started(up, ref, stage_prefix):
        assert time.monotonic() < deadline, f"{stage_prefix} did not start:\n{json.dumps(up.get(ref))[:3000]}"
        time.sleep(0.05)
    up.stop(signal.SIGKILL)
    up.start()
    done: dict[str, Any] = up.wait(ref, timeout=180)
    assert done["status"] == "SUCCEEDED", json.dumps(done)[:4000]
    return done


def test_sigkill_in_the_middle_of_a_red_black(home: tuple[Up, Path]) -> None:
    up, package = home
    lb = _free_port()
    first = up.wait(_start(up, _job(package, lb, "1", "")), timeout=120)
    assert first["status"] == "SUCCEEDED", json.dumps(first)[:4000]
    with generate_load(f"http://127.0.0.1:{lb}/", rate=50) as load:
        load.wait_for_only("1")
        ref = _start(up, _job(package, lb, "2", "redblack", scaleDown=False))
        _crash_and_resume(up, ref, "disableCluster")
        load.wait_for_only("2", timeout=60)
    assert _groups(up) == {
        "shop-web-v000": {"disabled": True, "instances": 2},
        "shop-web-v001": {"disabled": False, "instances": 2},
    }
    load.assert_no_failures(minimum=50)


def test_sigkill_during_a_rolling_red_black_step(home: tuple[Up, Path]) -> None:
    up, package = home
    lb = _free_port()
    first = up.wait(_start(up, _job(package, lb, "1", "")), timeout=120)
    assert first["status"] == "SUCCEEDED", json.dumps(first)[:4000]
    with generate_load(f"http://127.0.0.1:{lb}/", rate=50) as load:
        load.wait_for_only("1")
        ref = _start(up, _job(package, lb, "2", "rollingredblack", targetPercentages=[50]))
        done = _crash_and_resume(up, ref, "Disable 50% of Traffic")
        load.wait_for_only("2", timeout=60)
    names = [s["name"] for s in done["stages"]]
    assert names.count("Grow to 50% of Desired Size") == 1 and "Unpin shop-web-v000" in names
    assert _groups(up) == {
        "shop-web-v000": {"disabled": True, "instances": 2},
        "shop-web-v001": {"disabled": False, "instances": 2},
    }
    load.assert_no_failures(minimum=50)
