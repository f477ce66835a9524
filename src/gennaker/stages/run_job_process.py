"""The files and processes of a local job, under ``<data_dir>/jobs/<executionId>/<stageId>/``:

``operation.json``  written before spawning: which attempt of the stage this directory belongs to
``spawned.json``    written right after spawning: the job's process group
``spec.json``       argv, working directory, stdin file (read by run_job_wrapper.py)
``pid.json``        written by the wrapper: its pid and process group
``stdout.log`` / ``stderr.log`` / ``stdin.txt``
``result.json``     written by the wrapper when the command ends: ``{exitCode, signal?, error?}``

Everything the worker needs to find the job again is in these files and the stage context, so a
new worker picks up where a stopped one left off.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WRAPPER = Path(__file__).with_name("run_job_wrapper.py")
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_PROC = Path("/proc")


@dataclass(frozen=True)
class JobPaths:
    """Where one stage's job keeps its files."""

    dir: Path

    @property
    def marker(self) -> Path:
        """The attempt this directory belongs to."""
        return self.dir / "operation.json"

    @property
    def spawned(self) -> Path:
        """The process group, recorded right after spawning."""
        return self.dir / "spawned.json"

    @property
    def spec(self) -> Path:
        """What the wrapper runs."""
        return self.dir / "spec.json"

    @property
    def pid(self) -> Path:
        """The wrapper's pid and process group."""
        return self.dir / "pid.json"

    @property
    def result(self) -> Path:
        """The exit code, once the command ended."""
        return self.dir / "result.json"

    @property
    def stdout(self) -> Path:
        """The command's standard output."""
        return self.dir / "stdout.log"

    @property
    def stderr(self) -> Path:
        """The command's standard error."""
        return self.dir / "stderr.log"

    @property
    def stdin(self) -> Path:
        """The command's standard input, when the stage gives one."""
        return self.dir / "stdin.txt"

    @property
    def workspace(self) -> Path:
        """The default working directory."""
        return self.dir / "work"


def job_paths(data_dir: Path, execution_id: str, stage_id: str) -> JobPaths:
    """The directory of a stage's job; ValueError for ids that could escape it."""
    for value in (execution_id, stage_id):
        if not _SAFE_ID.match(value) or value in (".", ".."):
            raise ValueError(f"not a valid id: {value!r}")
    return JobPaths(Path(data_dir).resolve() / "jobs" / execution_id / stage_id)


def read_json(path: Path) -> dict[str, Any] | None:
    """A small JSON file, or None when absent or not (yet) complete."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data))
    os.replace(partial, path)


def find_command(program: str, path: str, cwd: str) -> str | None:
    """The executable ``program`` names (searched on ``path`` unless it has a slash), or None."""
    if "/" in program:
        candidate = Path(cwd) / program
        return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None
    return shutil.which(program, path=path)


def adopt(paths: JobPaths, operation_id: str) -> dict[str, Any] | None:
    """The record of a job this attempt already spawned (the task ran again after a crash)."""
    marker = read_json(paths.marker)
    if marker is None or marker.get("operationId") != operation_id:
        return None
    found = read_json(paths.spawned) or read_json(paths.pid)
    if found is None or not isinstance(found.get("pgid"), int):
        return None  # the marker was written but the spawn never happened: spawn now
    return _record(paths, operation_id, int(found["pgid"]), int(marker.get("createdAt") or 0))


def _record(paths: JobPaths, operation_id: str, pgid: int, started_at: int) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "dir": str(paths.dir),
        "stdout": str(paths.stdout),
        "stderr": str(paths.stderr),
        "pgid": pgid,
        "startedAt": started_at,
    }


def spawn(
    paths: JobPaths,
    *,
    operation_id: str,
    argv: list[str],
    env: dict[str, str],
    cwd: str,
    stdin_text: str | None,
    now_ms: int,
) -> dict[str, Any]:
    """Start the job detached from this process; returns its record (blocking, briefly)."""
    if paths.dir.exists():
        shutil.rmtree(paths.dir)  # a previous attempt's files
    paths.dir.mkdir(parents=True)
    _write_json(paths.marker, {"operationId": operation_id, "createdAt": now_ms})
    if stdin_text is not None:
        paths.stdin.write_text(stdin_text)
    Path(cwd).mkdir(parents=True, exist_ok=True)
    spec = {"argv": argv, "cwd": cwd, "stdin": str(paths.stdin) if stdin_text is not None else None}
    _write_json(paths.spec, spec)
    with paths.stdout.open("wb") as out, paths.stderr.open("wb") as err:
        launcher = subprocess.Popen(
            [sys.executable, "-I", str(WRAPPER), str(paths.dir)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            cwd=str(paths.dir),
            start_new_session=True,
            close_fds=True,
        )
    pgid = launcher.pid
    _write_json(paths.spawned, {"operationId": operation_id, "pgid": pgid})
    launcher.wait(timeout=30)  # it forks and exits at once; the job runs on in the same group
    return _record(paths, operation_id, pgid, now_ms)


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies do not count, where /proc tells)."""
    if _PROC.is_dir():
        for entry in _PROC.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
                return True
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def kill_group(pgid: int, grace_s: float = 5.0) -> str:
    """SIGTERM the group, SIGKILL what is left after ``grace_s``; says which was needed."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return "gone"
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        if not await asyncio.to_thread(group_alive, pgid):
            return "terminated"
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return "terminated"
    return "killed"


def tail(path: Path, lines: int = 20, max_bytes: int = 64 * 1024) -> list[str]:
    """The last ``lines`` lines of a file (reading at most ``max_bytes`` from its end)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace")
    return [line.rstrip("\r") for line in text.splitlines()[-lines:]]
