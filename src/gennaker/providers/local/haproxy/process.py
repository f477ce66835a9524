"""The HAProxy process: finding the binary, starting it detached, finding and ending it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from gennaker.providers.local.haproxy.errors import HAProxyError, HAProxyNotInstalled

MIN_VERSION = (2, 6)
_INSTALL = (
    "install HAProxy 2.6 or newer (Debian 12+/Ubuntu 24.04+: apt-get install haproxy; "
    "macOS: brew install haproxy) or set haproxy_path on the account"
)
# Debian installs HAProxy in /usr/sbin, which is not on PATH for most users.
_SEARCH = ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/opt/homebrew/bin/haproxy")


@dataclass(frozen=True)
class Binary:
    """A usable HAProxy executable and what its build offers."""

    path: str
    version: tuple[int, int]
    prometheus: bool


def find_binary(configured: str | None) -> Binary:
    """The HAProxy to run; HAProxyNotInstalled saying what to install when there is none."""
    if configured is not None:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            raise HAProxyNotInstalled(
                f"HAProxy is not installed at the configured path {configured}: {_INSTALL}"
            )
        path = configured
    else:
        found = shutil.which("haproxy") or next((p for p in _SEARCH if os.access(p, os.X_OK)), None)
        if found is None:
            raise HAProxyNotInstalled(
                f"HAProxy is not installed (no haproxy on PATH or in /usr/sbin): {_INSTALL}"
            )
        path = found
    try:
        out = subprocess.run([path, "-vv"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HAProxyNotInstalled(f"{path} does not run ({exc}): {_INSTALL}") from None
    match = re.search(r"HA-?Proxy version (\d+)\.(\d+)", out)
    if match is None:
        raise HAProxyNotInstalled(f"{path} is not HAProxy (no version in 'haproxy -vv'): {_INSTALL}")
    version = (int(match.group(1)), int(match.group(2)))
    if version < MIN_VERSION:
        raise HAProxyNotInstalled(
            f"{path} is HAProxy {version[0]}.{version[1]}; Gennaker needs dynamic servers with health "
            f"checks and seamless reloads: {_INSTALL}"
        )
    return Binary(path=path, version=version, prometheus="prometheus-exporter" in out)


def process_alive(pid: int) -> bool:
    """True when `pid` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def read_pid(path: Path) -> int | None:
    """The pid in a pid file, or None."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def runs_config(pid: int, config: Path) -> bool:
    """True when `pid` is a live HAProxy started with this configuration file."""
    if not process_alive(pid):
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc (not Linux): trust the pid file
    return str(config).encode() in argv


def processes_of(config: Path) -> list[int]:
    """Every live HAProxy process (master, workers, old workers) running this configuration."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        pid = int(entry.name)
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and b"haproxy" in os.path.basename(argv[0]) and str(config).encode() in argv:
            if process_alive(pid):
                pids.append(pid)
    return pids


def start(binary: Binary, config: Path, master_socket: Path, log: Path) -> None:
    """Start HAProxy in master-worker mode, daemonized; raise with HAProxy's words when it fails.

    HAProxy binds every listener before it detaches, so a port taken by another program fails
    here, synchronously, with HAProxy's own message.
    """
    argv = [binary.path, "-W", "-D", "-S", f"{master_socket},mode,600", "-f", str(config)]
    # HAProxy gets none of Gennaker's environment (database URLs, tokens): `show env` would show it.
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C"}
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            start_new_session=True,
            cwd="/",
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise HAProxyError(f"HAProxy did not start within 30s ({' '.join(argv)})") from None
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise HAProxyError(f"HAProxy did not start: {alerts(done.stderr) or done.stderr.strip()[-2000:]}")


def check_config(binary: Binary, config: Path) -> None:
    """`haproxy -c`: HAProxyError with HAProxy's alerts when the configuration is invalid."""
    done = subprocess.run(
        [binary.path, "-c", "-q", "-f", str(config)], capture_output=True, text=True, timeout=30, check=False
    )
    if done.returncode != 0:
        said = (
            alerts(done.stderr)
            or (done.stderr + done.stdout).strip()[-2000:]
            or f"exit status {done.returncode}"
        )
        raise HAProxyError(f"HAProxy refused the generated configuration {config}: {said}")


def alerts(stderr: str) -> str:
    """HAProxy's [ALERT] lines, without the prefixes."""
    lines = [line.split(":", 2)[-1].strip() for line in stderr.splitlines() if "[ALERT]" in line]
    return "; ".join(lines)


def port_taken(address: str, port: int) -> bool:
    """True when something listens on address:port (HAProxy would share it via SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    probe = socket.socket(family, socket.SOCK_STREAM)
    try:
        # SO_REUSEADDR ignores TIME_WAIT leftovers; without SO_REUSEPORT any listener conflicts.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((address, port))
    except OSError:
        return True
    finally:
        probe.close()
    return False


def free_port(address: str) -> int:
    """A port nothing listens on now."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        port: int = sock.getsockname()[1]
        return port


def kill_all(pids: list[int], sig: signal.Signals = signal.SIGKILL) -> None:
    """Send `sig` to each pid that still runs."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
