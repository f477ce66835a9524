"""HAProxy's runtime API (the admin socket of the worker, the master CLI) and its answers."""

from __future__ import annotations

import csv
import io
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from gennaker.providers.local.haproxy.errors import HAProxyError
from gennaker.providers.local.haproxy.specs import AdminState

# srv_admin_state bits (HAProxy's SRV_ADMF_*): forced, inherited, resolver and hostname maintenance;
# forced and inherited drain. 0x04 only records that the configuration said "disabled".
_MAINT_BITS = 0x01 | 0x02 | 0x20 | 0x40
_DRAIN_BITS = 0x08 | 0x10
# HAProxy's own answers to commands that worked (most successful commands answer nothing).
_OK_ANSWERS = ("New server registered.", "Server deleted.")


class RuntimeAPI:
    """One command per connection over a unix socket, with a bounded wait."""

    def __init__(self, path: Path, *, timeout_seconds: float = 5.0) -> None:
        self.path = path
        self.timeout_seconds = timeout_seconds

    def ask(self, command: str) -> str:
        """Send one command and return HAProxy's whole answer; HAProxyError when unreachable.

        A refused or reset connection is tried twice more: the master CLI goes away for a moment
        while the master re-executes itself on a reload.
        """
        for attempt in range(3):
            try:
                return self._ask_once(command)
            except (ConnectionRefusedError, ConnectionResetError, FileNotFoundError):
                if attempt == 2:
                    break
                time.sleep(0.1)
        raise HAProxyError(
            f"HAProxy's runtime API at {self.path} is unreachable; is HAProxy running? "
            "(Gennaker starts it on the next ensure_running)"
        )

    def _ask_once(self, command: str) -> str:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout_seconds)
        try:
            sock.connect(str(self.path))
            sock.sendall(command.encode() + b"\n")
            # The master CLI answers once it sees the end of the input.
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            raise HAProxyError(
                f"HAProxy's runtime API at {self.path} did not answer {command.split()[0]!r} within "
                f"{self.timeout_seconds:g}s; HAProxy may be stuck (Gennaker restarts it on the next ensure_running)"
            ) from None
        except (ConnectionRefusedError, ConnectionResetError, FileNotFoundError):
            raise
        except OSError as exc:
            raise HAProxyError(
                f"HAProxy's runtime API at {self.path} is unreachable ({exc.strerror or exc}); is HAProxy running?"
            ) from None
        finally:
            sock.close()
        return b"".join(chunks).decode(errors="replace")

    def command(self, command: str) -> None:
        """Run a command that answers nothing (or HAProxy's success line) when it works."""
        answer = self.ask(command).strip()
        if answer and answer not in _OK_ANSWERS:
            raise HAProxyError(f"HAProxy refused {command!r}: {answer}")


@dataclass(frozen=True)
class RuntimeServer:
    """One server as `show servers state` reports it."""

    backend: str
    name: str
    address: str
    port: int
    weight: int
    admin_state: AdminState


@dataclass(frozen=True)
class StatRow:
    """One server line of `show stat`."""

    backend: str
    server: str
    status: str
    check_status: str | None
    current_sessions: int
    queued: int
    weight: int


def admin_state(bits: int) -> AdminState:
    """The manager's three admin states from HAProxy's srv_admin_state bits."""
    if bits & _MAINT_BITS:
        return "maint"
    if bits & _DRAIN_BITS:
        return "drain"
    return "ready"


def parse_servers_state(text: str) -> list[RuntimeServer]:
    """Parse `show servers state`: a version line, a '# ' header line, then space-separated rows."""
    header: list[str] | None = None
    rows: list[RuntimeServer] = []
    for line in text.splitlines():
        if line.startswith("# "):
            header = line[2:].split()
            continue
        fields = line.split()
        if header is None or len(fields) < len(header):
            continue
        row = dict(zip(header, fields, strict=False))
        rows.append(
            RuntimeServer(
                backend=row["be_name"],
                name=row["srv_name"],
                address=row["srv_addr"],
                port=int(row["srv_port"]),
                weight=int(row["srv_uweight"]),
                admin_state=admin_state(int(row["srv_admin_state"])),
            )
        )
    return rows


def parse_stat(text: str) -> list[StatRow]:
    """Parse the server lines (type 2) of `show stat`'s CSV."""
    text = text.lstrip("# ")
    rows: list[StatRow] = []
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("type") != "2":
            continue
        check = (row.get("check_status") or "").removeprefix("* ").strip()
        rows.append(
            StatRow(
                backend=row["pxname"],
                server=row["svname"],
                status=row["status"],
                check_status=check or None,
                current_sessions=int(row["scur"] or 0),
                queued=int(row["qcur"] or 0),
                weight=int(row["weight"] or 0),
            )
        )
    return rows


def parse_info_pid(text: str) -> int:
    """The worker's pid from `show info`."""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Pid":
            return int(value.strip())
    raise HAProxyError(f"HAProxy's 'show info' named no Pid: {text[:200]!r}")


@dataclass(frozen=True)
class ProcList:
    """The master CLI's `show proc`: reload counters and the workers' pids."""

    reloads: int
    failed_reloads: int
    workers: tuple[int, ...]


def parse_show_proc(text: str) -> ProcList:
    """Parse `show proc` (the master line carries 'N [failed: M]' since HAProxy 2.6)."""
    reloads = failed = 0
    workers: list[int] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3 or not fields[0].isdigit():
            continue
        if fields[1] == "master":
            reloads = int(fields[2])
            if "[failed:" in line:
                failed = int(line.split("[failed:", 1)[1].split("]", 1)[0])
        elif fields[1] == "worker":
            workers.append(int(fields[0]))
    return ProcList(reloads=reloads, failed_reloads=failed, workers=tuple(workers))
