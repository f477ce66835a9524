"""Instance processes: started detached (not our child, own process group), told apart from a
later process with the same pid by their start time, stopped with SIGTERM then SIGKILL, and their
logs rotated in place while they keep writing."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from gennaker.providers.local.health import HealthCheck, next_health
from gennaker.providers.local.process import (
    InstancePaths,
    alive,
    read_pid_file,
    rotate,
    spawn,
    start_time,
    stop,
)


def _paths(tmp_path: Path) -> InstancePaths:
    paths = InstancePaths(tmp_path / "i-0")
    paths.work.mkdir(parents=True)
    return paths


def test_spawned_processes_are_detached_recorded_and_stopped(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    script = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    pid, started = spawn(paths, [sys.executable, "-c", script], {"PATH": os.environ["PATH"]})
    try:
        assert read_pid_file(paths) == (pid, started) and alive(pid, started)
        assert not alive(pid, started + 1)  # another process that got the same pid
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        assert int(stat[1]) != os.getpid() and int(stat[2]) == pid  # not our child; its own group
        deadline = time.monotonic() + 10
        while "up" not in paths.stdout.read_text() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stop(pid, started, grace_s=0.3) == "killed"  # it ignores SIGTERM
        assert not alive(pid, started)
    finally:
        stop(pid, started, grace_s=0)


def test_a_command_that_cannot_start_is_dead_with_the_reason_in_its_log(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    pid, started = spawn(paths, ["/nonexistent/program"], {"PATH": "/usr/bin:/bin"})
    deadline = time.monotonic() + 5
    while alive(pid, started) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(pid, started)
    assert "cannot start '/nonexistent/program'" in paths.stderr.read_text()


def test_logs_rotate_in_place_keeping_backups(tmp_path: Path) -> None:
    log = tmp_path / "stdout.log"
    with log.open("ab") as writer:  # as the process holds it: append mode
        writer.write(b"a" * 2000)
        writer.flush()
        assert rotate(log, 1000, 2)
        writer.write(b"b" * 10)
        writer.flush()
    assert log.read_bytes() == b"b" * 10
    assert (tmp_path / "stdout.log.1").read_bytes() == b"a" * 2000
    assert not rotate(log, 1000, 2)
    assert start_time(os.getpid()) is not None


def test_health_needs_its_thresholds_in_a_row() -> None:
    check = HealthCheck.from_spec({"path": "/health", "healthyThreshold": 2, "unhealthyThreshold": 3})
    health: dict[str, object] = {"state": "Starting"}
    health = next_health(health, True, "ok", check, 1)
    assert health["state"] == "Starting"
    health = next_health(health, True, "ok", check, 2)
    assert health["state"] == "Up"
    for _ in range(2):
        health = next_health(health, False, "503", check, 3)
        assert health["state"] == "Up"
    health = next_health(health, False, "503", check, 4)
    assert health["state"] == "Down"
