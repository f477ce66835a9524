"""OS processes of instances: start detached, tell whether one still runs, stop, rotate logs.

A process is identified by its pid **and** its kernel start time (``/proc/<pid>/stat`` field
22), so a later process that happens to get the same pid is never mistaken for an instance.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

LAUNCHER = Path(__file__).with_name("launcher.py")


@dataclass(frozen=True)
class InstancePaths:
    """Files of one instance under its directory."""

    root: Path

    @property
    def work(self) -> Path:
        """The working directory, a copy of the image."""
        return self.root / "work"

    @property
    def stdout(self) -> Path:
        """Standard output log."""
        return self.root / "stdout.log"

    @property
    def stderr(self) -> Path:
        """Standard error log."""
        return self.root / "stderr.log"

    @property
    def pid_file(self) -> Path:
        """Written by the launcher before exec: pid and start time."""
        return self.root / "pid.json"

    @property
    def spec(self) -> Path:
        """What the launcher runs."""
        return self.root / "spec.json"


def start_time(pid: int) -> int | None:
    """The kernel start time of a live (non-zombie) process, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def alive(pid: int | None, pid_start: int | None) -> bool:
    """Whether the process recorded as (pid, start time) still runs."""
    if pid is None:
        return False
    started = start_time(pid)
    return started is not None and (pid_start is None or started == pid_start)


def read_pid_file(paths: InstancePaths) -> tuple[int, int] | None:
    """(pid, start time) the launcher recorded, if it did."""
    try:
        data = json.loads(paths.pid_file.read_text())
        return int(data["pid"]), int(data["pidStart"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def spawn(paths: InstancePaths, argv: list[str], env: dict[str, str]) -> tuple[int, int]:
    """Start the command detached in the instance's working directory; (pid, start time)."""
    paths.pid_file.unlink(missing_ok=True)
    spec = {
        "argv": argv,
        "env": env,
        "cwd": str(paths.work),
        "stdout": str(paths.stdout),
        "stderr": str(paths.stderr),
        "pidFile": str(paths.pid_file),
    }
    paths.spec.write_text(json.dumps(spec))
    launcher = subprocess.run(
        [sys.executable, "-I", str(LAUNCHER), str(paths.spec)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={"PATH": env.get("PATH", "/usr/bin:/bin")},
        start_new_session=True,
        close_fds=True,
        timeout=30,
        check=False,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = read_pid_file(paths)
        if found is not None:
            return found
        pid = int(launcher.stdout.strip() or 0)
        if pid and start_time(pid) is None and read_pid_file(paths) is None:
            break  # the child failed before recording itself
        time.sleep(0.005)
    pid = int(launcher.stdout.strip() or 0)
    found = read_pid_file(paths)
    if found is not None:
        return found
    # No pid file yet on a slow machine while the process runs: record its real start time, or it
    # would be taken for dead and started again beside itself. Gone already (exec failed): 0, so
    # the supervisor sees it dead and restarts it with backoff.
    started = start_time(pid) if pid else None
    return pid, started or 0


def signal_group(pid: int, sig: int) -> bool:
    """Send ``sig`` to the instance's process group; False when it is gone."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def stop(pid: int | None, pid_start: int | None, grace_s: float) -> str:
    """SIGTERM the instance's group, SIGKILL it after ``grace_s``; says which was needed (blocking)."""
    if not alive(pid, pid_start):
        return "gone"
    assert pid is not None
    signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not alive(pid, pid_start):
            return "terminated"
        time.sleep(0.02)
    signal_group(pid, signal.SIGKILL)
    for _ in range(100):
        if not alive(pid, pid_start):
            break
        time.sleep(0.01)
    return "killed"


def rotate(path: Path, max_bytes: int, backups: int) -> bool:
    """Rotate a log the process keeps open in append mode (copy, then truncate in place, as
    logrotate's copytruncate); True when it was rotated."""
    try:
        size = path.stat().st_size
    except OSError:
        return False
    if size < max_bytes:
        return False
    for index in range(backups, 0, -1):
        older = path.with_name(f"{path.name}.{index}")
        newer = path.with_name(f"{path.name}.{index - 1}") if index > 1 else path
        if index == backups:
            older.unlink(missing_ok=True)
        if newer.exists():
            if newer == path:
                shutil.copyfile(path, older)
            else:
                os.replace(newer, older)
    with path.open("r+b") as handle:
        handle.truncate(0)
    return True


def make_tree_writable(root: Path) -> None:
    """Give back write permission (copies of read-only images), so the tree can be removed."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            path = Path(dirpath) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)
