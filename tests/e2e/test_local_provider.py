"""End to end: the local provider on a real ``gennaker up`` (127.0.0.1, a throw-away SQLite file):
bake the example service from its directory, put it behind a real HAProxy, deploy, send real
HTTP requests through the load balancer, resize, disable/enable, deploy again with highlander,
read Gate's endpoints, restart Gennaker (the instances keep serving and are adopted), SIGKILL an
instance (it is restarted), destroy; and SIGKILL the worker in the middle of a deploy."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import IN_CI

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-local")]

GENNAKER = str(Path(sys.executable).with_name("gennaker"))
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require_haproxy() -> None:
    """Skip (laptop) or fail (CI) without HAProxy or its manager."""
    problem = None
    if importlib.util.find_spec("gennaker.providers.local.haproxy") is None:
        problem = "the HAProxy manager (gennaker.providers.local.haproxy) is not installed"
    elif shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        problem = "HAProxy is not installed (apt-get install haproxy)"
    if problem:
        if IN_CI:
            pytest.fail(problem)
        pytest.skip(problem)


class Up:
    """A ``gennaker up`` subprocess on a data directory that outlives restarts."""

    def __init__(self, tmp: Path, **env: str) -> None:
        self.tmp = tmp
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GENNAKER_")},
            "GENNAKER_DATABASE_URL": f"sqlite:///{tmp / 'e2e.db'}",
            # short: HAProxy's unix socket paths must stay under 98 characters
            "GENNAKER_DATA_DIR": tempfile.mkdtemp(prefix="gk-"),
            "GENNAKER_PORT": str(self.port),
            "GENNAKER_ENDPOINT": self.url,
            "GENNAKER_LOG_LEVEL": "info",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.log = (self.tmp / "up.log").open("a")
        self.proc = subprocess.Popen(
            [GENNAKER, "up"], cwd=self.tmp, env=self.env, stdout=self.log, stderr=self.log
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"gennaker up did not start:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        return (self.tmp / "up.log").read_text()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.url}{path}", params=params, timeout=10)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def post(self, path: str, body: Any) -> Any:
        response = httpx.post(f"{self.url}{path}", json=body, timeout=30)
        assert response.status_code in (200, 202), (path, response.status_code, response.text)
        return response.json()

    def wait(self, ref: str, timeout: float = 90) -> dict[str, Any]:
        """Poll an execution (``/pipelines/<id>`` or ``/tasks/<id>``) until it has finished."""
        deadline = time.monotonic() + timeout
        while True:
            found: dict[str, Any] = self.get(ref)
            status = found.get("status")
            if status in ("SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED", "FAILED_CONTINUE"):
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{ref} still {status} after {timeout} s:\n{json.dumps(found)[:4000]}")
            time.sleep(0.3)

    def task(self, app: str, job: dict[str, Any]) -> dict[str, Any]:
        ref = self.post(
            f"/applications/{app}/tasks", {"application": app, "description": job["type"], "job": [job]}
        )["ref"]
        return self.wait(ref)


def until(check: Callable[[], bool], timeout: float = 30, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s: {message}")
        time.sleep(0.2)


def through(port: int, count: int = 20) -> list[str | None]:
    """Who answered each of ``count`` requests through the load balancer (None: refused/5xx)."""
    answers: list[str | None] = []
    for _ in range(count):
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/", timeout=3)
            answers.append(response.json()["instance"] if response.status_code == 200 else None)
        except (httpx.TransportError, ValueError):
            answers.append(None)
    return answers


@pytest.fixture
def package(tmp_path: Path) -> str:
    target = tmp_path / "hello"
    shutil.copytree(EXAMPLE, target)
    return str(target)


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    server = Up(tmp_path)
    try:
        yield server
    finally:
        server.stop()
        cleanup = subprocess.run(
            [GENNAKER, "local", "stop-all", "--yes"],
            env=server.env,
            cwd=server.tmp,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert cleanup.returncode == 0, cleanup.stderr


def _pipeline(up: Up, package: str, lb_port: int, version: str) -> dict[str, Any]:
    config = json.loads((EXAMPLE / "pipeline.json").read_text())
    up.post("/applications", {"name": "hello", "email": "team@example.com"})
    saved = httpx.post(f"{up.url}/pipelines", json=config, timeout=30)
    assert saved.status_code in (200, 409), saved.text  # 409: saved by the first run
    ref = up.post(
        "/pipelines/hello/deploy",
        {"type": "manual", "parameters": {"package": package, "version": version, "port": str(lb_port)}},
    )["ref"]
    return up.wait(ref)


def test_bake_deploy_serve_resize_disable_highlander_restart_and_kill(up: Up, package: str) -> None:
    require_haproxy()
    lb = _free_port()
    first = _pipeline(up, package, lb, "1")
    assert first["status"] == "SUCCEEDED", json.dumps(first)[:4000]
    group = up.get("/serverGroups/local/local/hello-web-v000")
    assert group["instanceCounts"]["up"] == 2 and group["capacity"] == {"min": 2, "max": 2, "desired": 2}
    assert group["moniker"] == {"app": "hello", "cluster": "hello-web", "stack": "web", "sequence": 0}
    assert (
        group["loadBalancers"] == ["hello-web"]
        and group["isDisabled"] is False
        and group["disabled"] is False
    )
    answers = through(lb, 30)
    assert set(answers) == {"hello-web-v000-0", "hello-web-v000-1"}, answers

    def resize(desired: int) -> None:
        done = up.task(
            "hello",
            {
                "type": "resizeServerGroup",
                "cloudProvider": "local",
                "credentials": "local",
                "region": "local",
                "serverGroupName": "hello-web-v000",
                "capacity": {"min": desired, "max": desired, "desired": desired},
            },
        )
        assert done["status"] == "SUCCEEDED", json.dumps(done)[:3000]

    resize(3)
    until(
        lambda: set(through(lb, 30)) == {"hello-web-v000-0", "hello-web-v000-1", "hello-web-v000-2"},
        message="3 instances serve",
    )
    resize(1)
    assert set(through(lb, 10)) == {"hello-web-v000-0"}

    common = {
        "cloudProvider": "local",
        "credentials": "local",
        "region": "local",
        "serverGroupName": "hello-web-v000",
    }
    assert up.task("hello", {"type": "disableServerGroup", **common})["status"] == "SUCCEEDED"
    assert set(through(lb, 5)) == {None}
    assert up.get("/serverGroups/local/local/hello-web-v000")["isDisabled"] is True
    assert up.task("hello", {"type": "enableServerGroup", **common})["status"] == "SUCCEEDED"
    until(lambda: set(through(lb, 5)) == {"hello-web-v000-0"}, message="enabled again")

    second = _pipeline(up, package, lb, "2")
    assert second["status"] == "SUCCEEDED", json.dumps(second)[:4000]
    until(
        lambda: set(through(lb, 20)) == {"hello-web-v001-0", "hello-web-v001-1"}, message="only v001 serves"
    )
    assert up.get("/applications/hello/clusters") == {"local": ["hello-web"]}
    summaries = up.get("/applications/hello/serverGroups")
    assert [s["name"] for s in summaries] == ["hello-web-v001"]
    assert {
        "instanceCounts",
        "capacity",
        "moniker",
        "createdTime",
        "buildInfo",
        "loadBalancers",
        "instances",
    } <= set(summaries[0])
    lbs = up.get("/applications/hello/loadBalancers")
    assert [x["name"] for x in lbs] == ["hello-web"] and [g["name"] for g in lbs[0]["serverGroups"]] == [
        "hello-web-v001"
    ]
    instance = up.get("/instances/local/local/hello-web-v001-0")
    assert instance["healthState"] == "Up" and {h["type"] for h in instance["health"]} == {
        "Local",
        "HealthCheck",
        "LoadBalancer",
    }
    console = up.get("/instances/local/local/hello-web-v001-0/console")
    assert "listening on port" in console["output"][0]["output"]
    creds = up.get("/credentials", expand="true")
    assert (
        creds[0]["name"] == "local"
        and creds[0]["type"] == "local"
        and creds[0]["regions"][0]["name"] == "local"
    )

    pids = {
        i["name"]: i["processId"] for i in up.get("/serverGroups/local/local/hello-web-v001")["instances"]
    }
    up.stop()
    assert set(through(lb, 10)) == {"hello-web-v001-0", "hello-web-v001-1"}  # serving while Gennaker is down
    up.start()
    until(lambda: up.get("/instances/local/local/hello-web-v001-0")["healthState"] == "Up", message="adopted")
    assert {
        i["name"]: i["processId"] for i in up.get("/serverGroups/local/local/hello-web-v001")["instances"]
    } == pids

    os.kill(pids["hello-web-v001-0"], signal.SIGKILL)
    until(
        lambda: up.get("/instances/local/local/hello-web-v001-0")["processId"] != pids["hello-web-v001-0"],
        message="restarted",
    )
    until(
        lambda: up.get("/instances/local/local/hello-web-v001-0")["healthState"] == "Up", message="up again"
    )
    destroy = up.task(
        "hello", {"type": "destroyServerGroup", **{**common, "serverGroupName": "hello-web-v001"}}
    )
    assert destroy["status"] == "SUCCEEDED"
    assert up.get("/applications/hello/serverGroups") == []
    assert all(_gone(pid) for pid in pids.values())


def _gone(pid: int) -> bool:
    """No such process, or only a zombie (a container's init may not reap orphans)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2 :].split()[0] in ("Z", "X")


def _group_rows(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db, timeout=5) as conn:
        return conn.execute("SELECT name, status FROM local_server_groups ORDER BY name").fetchall()


def _instance_rows(db: Path) -> list[tuple[str, int | None]]:
    with sqlite3.connect(db, timeout=5) as conn:
        return conn.execute("SELECT id, pid FROM local_instances ORDER BY id").fetchall()


def test_sigkill_of_the_worker_during_a_deploy_finishes_the_same_server_group(tmp_path: Path) -> None:
    # A big image makes each instance's working directory slow enough to copy that the kill
    # lands while the server group is being created.
    package = tmp_path / "big"
    shutil.copytree(EXAMPLE, package)
    for index in range(1500):
        (package / f"data-{index:04d}.txt").write_text("x" * 64)
    home = tmp_path / "home"
    home.mkdir()
    up = Up(home, GENNAKER_WORKER__LEASE_SECONDS="3")
    db = home / "e2e.db"
    try:
        stages = [
            {"refId": "1", "type": "bake", "cloudProvider": "local", "package": str(package)},
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "type": "deploy",
                "clusters": [
                    {
                        "cloudProvider": "local",
                        "account": "local",
                        "region": "local",
                        "application": "shop",
                        "stack": "big",
                        "capacity": {"min": 4, "max": 4, "desired": 4},
                        "command": [sys.executable, "app.py"],
                        "healthCheck": {"path": "/health", "intervalSeconds": 0.5},
                    }
                ],
            },
        ]
        ref = up.post(
            "/applications/shop/tasks", {"application": "shop", "description": "deploy", "job": stages}
        )["ref"]
        until(
            lambda: (
                any(status == "creating" for _, status in _group_rows(db))
                and any(pid for _, pid in _instance_rows(db))
            ),
            timeout=60,
            message="creation under way",
        )
        up.stop(signal.SIGKILL)
        assert _group_rows(db) == [("shop-big-v000", "creating")]
        up.start()
        done = up.wait(ref, timeout=120)
        assert done["status"] == "SUCCEEDED", json.dumps(done)[:4000]
        assert _group_rows(db) == [("shop-big-v000", "active")]
        rows = _instance_rows(db)
        assert len(rows) == 4 and all(pid for _, pid in rows)
        # no orphans: exactly the four recorded processes run the instance's command
        running = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if b"GENNAKER_SERVER_GROUP=shop-big-v000" in (entry / "environ").read_bytes():
                        running.append(int(entry.name))
                except OSError:
                    continue
        assert sorted(running) == sorted(pid for _, pid in rows)
    finally:
        up.stop()
        subprocess.run(
            [GENNAKER, "local", "stop-all", "--yes"], env=up.env, cwd=home, capture_output=True, timeout=120
        )
