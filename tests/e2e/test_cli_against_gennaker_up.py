"""End to end: the ``gennaker`` CLI drives a real ``gennaker up`` process (127.0.0.1, a free port, a
throw-away SQLite file, configured only through GENNAKER_* variables)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]

GENNAKER = str(Path(sys.executable).with_name("gennaker"))

DEPLOY = """
application: shop
name: deploy
parameterConfig:
  - {name: env, required: true}
  - {name: seconds, default: "1"}
stages:
  - {refId: "1", type: wait, name: Build, waitTime: "${parameters.seconds}"}
  - {refId: "2", requisiteStageRefIds: ["1"], type: wait, name: Ship, waitTime: 0}
"""
SLOW = {
    "application": "shop",
    "name": "slow",
    "stages": [{"refId": "1", "type": "wait", "name": "Long", "waitTime": 600}],
}
JUDGED = {
    "application": "shop",
    "name": "judged",
    "stages": [
        {"refId": "1", "type": "manualJudgment", "name": "Approve", "judgmentInputs": [{"value": "ship"}]},
        {"refId": "2", "requisiteStageRefIds": ["1"], "type": "wait", "name": "After", "waitTime": 0},
    ],
}


class Up:
    """A ``gennaker up`` subprocess and a way to run CLI commands against it."""

    def __init__(self, tmp_path: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp = tmp_path
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GENNAKER_")},
            "GENNAKER_DATABASE_URL": f"sqlite:///{tmp_path / 'e2e.db'}",
            "GENNAKER_PORT": str(self.port),
            "GENNAKER_ENDPOINT": self.url,
            "GENNAKER_CLI_CONFIG": str(tmp_path / "cli.yaml"),
            "GENNAKER_LOG_LEVEL": "info",
            "COLUMNS": "200",
        }
        self.log = (tmp_path / "up.log").open("w+")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [GENNAKER, "up"], cwd=tmp_path, env=self.env, stdout=self.log, stderr=self.log
        )
        self.ready_after = self._wait_ready()

    def _wait_ready(self) -> float:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gennaker up exited {self.proc.returncode}:\n{self.output()}")
            try:
                # Ready: /health answers and the banner (printed just after) names the URL.
                if (
                    httpx.get(f"{self.url}/health", timeout=1).status_code == 200
                    and self.url in self.output()
                ):
                    return time.monotonic() - self.started_at
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"gennaker up did not become ready:\n{self.output()}")

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return (self.tmp / "up.log").read_text()

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([GENNAKER, *args], env=self.env, capture_output=True, text=True, timeout=120)
        if check:
            assert result.returncode == 0, f"gennaker {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)

    def write(self, name: str, content: Any) -> str:
        path = self.tmp / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return str(path)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    server = Up(tmp_path_factory.mktemp("up"))
    try:
        yield server
    finally:
        server.stop()


def _wait_for(up: Up, execution_id: str, predicate: Any, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        execution: dict[str, Any] = up.json("pipeline", "execution", "get", execution_id)
        if predicate(execution) or time.monotonic() > deadline:
            return execution
        time.sleep(0.2)


def test_save_execute_watch_cancel_and_list(up: Up) -> None:
    assert f"http://127.0.0.1:{up.port}" in up.output()
    up.run("application", "save", "--application-name", "shop", "--owner-email", "team@example.com")
    assert [a["name"] for a in up.json("application", "list")] == ["shop"]
    up.run("pipeline", "save", "-f", up.write("deploy.yaml", DEPLOY))
    up.run("pipeline", "save", "-f", up.write("slow.json", SLOW))
    config_id = up.json("pipeline", "get", "-a", "shop", "-n", "deploy")["id"]

    started = up.json(
        "pipeline", "execute", "-a", "shop", "-n", "deploy", "-p", "env=prod", "-p", "seconds=1"
    )
    watched = up.run("execution", "watch", started["id"])
    assert "Build" in watched.stdout and "Ship" in watched.stdout
    assert f"Execution {started['id']} SUCCEEDED" in watched.stdout

    slow = up.json("pipeline", "execute", "-a", "shop", "-n", "slow")
    _wait_for(up, slow["id"], lambda e: e["status"] == "RUNNING")
    up.run("pipeline", "execution", "cancel", slow["id"], "--reason", "e2e")
    canceled = up.run("execution", "watch", slow["id"], check=False)
    assert canceled.returncode == 1 and "CANCELED" in canceled.stdout

    again = up.run(
        "pipeline", "execute", "-a", "shop", "-n", "deploy", "-p", "env=dev", "-p", "seconds=0", "--wait"
    )
    assert "SUCCEEDED" in again.stdout
    listed = up.json("pipeline", "execution", "list", "-i", config_id, "--limit", "5")
    assert [e["trigger"]["parameters"]["env"] for e in listed] == ["dev", "prod"]
    assert all(e["status"] == "SUCCEEDED" for e in listed)
    table = up.run("pipeline", "execution", "list", "-i", config_id)
    assert started["id"] in table.stdout


def test_manual_judgment(up: Up) -> None:
    up.run("application", "save", "--application-name", "shop", "--owner-email", "team@example.com")
    path = up.write("judged.json", JUDGED)
    check = up.run("pipeline", "validate", "-f", path, check=False)
    if "unknown stage type 'manualJudgment'" in check.stderr:
        pytest.skip("the manualJudgment stage type is not registered yet (gennaker.stages.manual_judgment)")
    assert check.returncode == 0, check.stderr
    up.run("pipeline", "save", "-f", path)
    started = up.json("pipeline", "execute", "-a", "shop", "-n", "judged")
    execution = _wait_for(up, started["id"], lambda e: e["stages"][0]["status"] == "RUNNING")
    stage_id = execution["stages"][0]["id"]
    up.run("execution", "judge", started["id"], stage_id, "--continue", "--input", "ship")
    watched = up.run("execution", "watch", started["id"])
    assert "SUCCEEDED" in watched.stdout
    final = up.json("pipeline", "execution", "get", started["id"])
    assert final["stages"][0]["context"]["judgmentInput"] == "ship"
    assert final["stages"][0]["lastModified"]["user"] == "anonymous"


def test_sigterm_stops_gracefully(up: Up) -> None:
    assert up.stop() == 0
    assert "stopped" in up.output() and "Traceback" not in up.output()
