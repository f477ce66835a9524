"""One supervised HAProxy per account: start or adopt it, reconfigure it, report on it, stop it."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import tempfile
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from gennaker.providers.local.haproxy import process
from gennaker.providers.local.haproxy.config import (
    MAX_SOCKET_PATH,
    STATS_PROXY,
    Paths,
    Settings,
    render,
    structure_digest,
)
from gennaker.providers.local.haproxy.errors import HAProxyError
from gennaker.providers.local.haproxy.lock import file_lock
from gennaker.providers.local.haproxy.reconcile import reconcile_servers
from gennaker.providers.local.haproxy.runtime import (
    RuntimeAPI,
    parse_info_pid,
    parse_servers_state,
    parse_show_proc,
    parse_stat,
)
from gennaker.providers.local.haproxy.specs import FrontendSpec, ServerStatus, validate_frontends


class HAProxyManager:
    """One supervised HAProxy (master-worker, runtime API on a unix socket) for one account."""

    def __init__(
        self,
        *,
        account: str,
        data_dir: Path,
        bind_address: str = "127.0.0.1",
        stats_port: int | None = None,
        haproxy_path: str | None = None,
        socket_timeout_seconds: float = 5.0,
        lock_timeout_seconds: float = 120.0,
        removal_grace_seconds: float = 10.0,
    ) -> None:
        self.account = account
        self.paths = Paths(Path(data_dir).absolute())
        self.bind_address = bind_address
        self._stats_port = stats_port
        self._haproxy_path = haproxy_path
        self._binary: process.Binary | None = None
        self._lock_timeout = lock_timeout_seconds
        self._removal_grace = removal_grace_seconds
        self.admin = RuntimeAPI(self.paths.admin_socket, timeout_seconds=socket_timeout_seconds)
        self.master = RuntimeAPI(self.paths.master_socket, timeout_seconds=socket_timeout_seconds)

    # -- the interface -------------------------------------------------------------------------

    def ensure_running(self, frontends: Sequence[FrontendSpec]) -> None:
        """Start HAProxy (or adopt the running one by its pid file) with exactly these frontends;
        restarts it if it died. Idempotent; safe to call from any process."""
        self.apply(frontends)

    def apply(self, frontends: Sequence[FrontendSpec]) -> None:
        """Make HAProxy serve exactly these frontends, starting it when it does not run.

        Server-only changes go through the runtime API; frontend, port and check changes rewrite
        the configuration and reload seamlessly. Idempotent.
        """
        frontends = list(frontends)
        binary = self._require_binary()
        settings = self._settings(binary)
        validate_frontends(frontends, reserved_ports=(settings.stats_port,))
        with self._locked():
            if not self._healthy():
                self._start(binary, settings, frontends)
            elif self._loaded_structure() != structure_digest(settings, frontends):
                self._reload(binary, settings, frontends)
            reconcile_servers(self.admin, frontends, removal_grace_seconds=self._removal_grace)
            # The file always holds the servers too, so a later reload or restart keeps them.
            self._write_config(render(settings, frontends))

    def status(self) -> list[ServerStatus]:
        """Every server of every load balancer as HAProxy reports it; [] when HAProxy is not running."""
        if not self.is_running():
            return []
        stats = parse_stat(self.admin.ask("show stat"))
        states = {(s.backend, s.name): s for s in parse_servers_state(self.admin.ask("show servers state"))}
        result = []
        for row in stats:
            state = states.get((row.backend, row.server))
            if row.backend == STATS_PROXY or state is None:
                continue
            result.append(
                ServerStatus(
                    frontend=row.backend,
                    server=row.server,
                    status=row.status,
                    check_status=row.check_status,
                    current_sessions=row.current_sessions,
                    weight=state.weight,
                    admin_state=state.admin_state,
                )
            )
        return sorted(result, key=lambda s: (s.frontend, s.server))

    def wait_drained(self, frontend: str, servers: Sequence[str], timeout_seconds: float) -> bool:
        """True when every named server has no current sessions (or the timeout passed: False)."""
        deadline = time.monotonic() + timeout_seconds
        wanted = set(servers)
        while True:
            if not self.is_running():
                return True
            busy = [
                row
                for row in parse_stat(self.admin.ask("show stat"))
                if row.backend == frontend and row.server in wanted and row.current_sessions + row.queued > 0
            ]
            if not busy:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def is_running(self) -> bool:
        """True when this account's HAProxy master process is alive."""
        pid = process.read_pid(self.paths.pid)
        return pid is not None and process.runs_config(pid, self.paths.config)

    def stats_url(self) -> str | None:
        """HAProxy's Prometheus exporter for this account; None when HAProxy or the exporter is missing."""
        try:
            binary = self._require_binary()
        except HAProxyError:
            return None
        if not binary.prometheus:
            return None
        host = self.bind_address
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._settings(binary).stats_port}/metrics"

    def stop(self) -> None:
        """Stop HAProxy: finish in-flight requests (a few seconds at most), then end every process."""
        with self._locked():
            self._stop_processes(grace_seconds=5.0)
            for path in (self.paths.pid, self.paths.loaded, self.paths.server_state):
                path.unlink(missing_ok=True)

    def worker_pid(self) -> int:
        """The pid of the worker serving now (changes on each reload, not on runtime changes)."""
        return parse_info_pid(self.admin.ask("show info"))

    # -- starting, reloading, stopping ---------------------------------------------------------

    def _start(self, binary: process.Binary, settings: Settings, frontends: list[FrontendSpec]) -> None:
        # A master that died leaves its workers to finish; whatever still runs this config goes.
        self._stop_processes(grace_seconds=0.0)
        for path in (self.paths.pid, self.paths.loaded, self.paths.admin_socket, self.paths.master_socket):
            path.unlink(missing_ok=True)
        self._check_ports(settings, frontends, already_bound=set())
        # Stale server state from a dead HAProxy must not override the spec.
        self.paths.server_state.write_text("")
        self._write_config(render(settings, frontends))
        process.check_config(binary, self.paths.config)
        try:
            process.start(binary, self.paths.config, self.paths.master_socket, self.paths.start_log)
        except HAProxyError as exc:
            raise self._explain_bind_failure(exc, settings, frontends) from None
        self._wait_for_worker(previous=None)
        self._record_loaded(settings, frontends)

    def _reload(self, binary: process.Binary, settings: Settings, frontends: list[FrontendSpec]) -> None:
        self._check_ports(settings, frontends, already_bound=self._bound_ports())
        running = {(s.backend, s.name) for s in parse_servers_state(self.admin.ask("show servers state"))}
        # Servers new to HAProxy start in maintenance; reconcile enables them once the new worker
        # runs, so they take traffic only after a check passed.
        new = {(fe.name, s.name) for fe in frontends for s in fe.servers if (fe.name, s.name) not in running}
        previous_text = self.paths.config.read_text() if self.paths.config.exists() else None
        self._write_config(render(settings, frontends, start_disabled=new))
        try:
            process.check_config(binary, self.paths.config)
        except HAProxyError:
            if previous_text is not None:
                self._write_config(previous_text)
            raise
        self.paths.server_state.write_text(self.admin.ask("show servers state"))
        before = parse_show_proc(self.master.ask("show proc"))
        old_worker = self.worker_pid()
        self.master.ask("reload")
        try:
            self._wait_for_worker(previous=old_worker, failed_before=before.failed_reloads)
        except HAProxyError:
            if previous_text is not None:
                self._write_config(previous_text)
            raise
        self._record_loaded(settings, frontends)

    def _wait_for_worker(
        self, *, previous: int | None, failed_before: int = 0, timeout: float = 20.0
    ) -> None:
        """Wait until a worker other than `previous` answers on the admin socket."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                procs = parse_show_proc(self.master.ask("show proc"))
                if procs.workers and procs.failed_reloads <= failed_before and self.worker_pid() != previous:
                    return
            except HAProxyError:
                procs = None  # the master re-executes itself during a reload and answers again soon
            if procs is not None and procs.failed_reloads > failed_before:
                raise HAProxyError(
                    "HAProxy could not load the new configuration (a listener port may have been taken "
                    f"meanwhile); it keeps serving the previous one. Check with: haproxy -c -f {self.paths.config}"
                )
            if time.monotonic() >= deadline:
                raise HAProxyError(
                    f"HAProxy for account {self.account!r} did not come up within {timeout:g}s"
                )
            time.sleep(0.02)

    def _stop_processes(self, *, grace_seconds: float) -> None:
        pid = process.read_pid(self.paths.pid)
        if grace_seconds > 0 and pid is not None and process.runs_config(pid, self.paths.config):
            process.kill_all([pid], signal.SIGUSR1)  # soft stop: finish in-flight requests
            deadline = time.monotonic() + grace_seconds
            while process.processes_of(self.paths.config) and time.monotonic() < deadline:
                time.sleep(0.05)
        for _ in range(100):
            pids = process.processes_of(self.paths.config)
            if not pids:
                return
            process.kill_all(pids)
            time.sleep(0.02)
        raise HAProxyError(f"HAProxy processes {pids} of account {self.account!r} did not stop")

    # -- helpers -------------------------------------------------------------------------------

    def _healthy(self) -> bool:
        """The master runs and its worker answers; a master that does not answer is replaced."""
        if not self.is_running():
            return False
        try:
            procs = parse_show_proc(self.master.ask("show proc"))
            self.worker_pid()
        except HAProxyError:
            return False
        return bool(procs.workers)

    def _check_ports(
        self, settings: Settings, frontends: list[FrontendSpec], already_bound: set[int]
    ) -> None:
        if settings.stats_port not in already_bound and process.port_taken(
            self.bind_address, settings.stats_port
        ):
            raise HAProxyError(
                f"the HAProxy stats port {settings.stats_port} of account {self.account!r} is already in use "
                "by another program; free it or set another stats port on the account"
            )
        for fe in frontends:
            if fe.port not in already_bound and process.port_taken(self.bind_address, fe.port):
                raise HAProxyError(
                    f"port {fe.port} of load balancer {fe.name!r} is already in use by another program on "
                    f"{self.bind_address}; free it or give the load balancer another listener port"
                )

    def _explain_bind_failure(
        self, exc: HAProxyError, settings: Settings, frontends: list[FrontendSpec]
    ) -> HAProxyError:
        for fe in frontends:
            if f":{fe.port}]" in str(exc) or f":{fe.port} " in str(exc):
                return HAProxyError(
                    f"port {fe.port} of load balancer {fe.name!r} is already in use by another program: {exc}"
                )
        return exc

    def _bound_ports(self) -> set[int]:
        """The ports the running HAProxy listens on: those recorded when it loaded its
        configuration, and those of the configuration file (in case that record is missing)."""
        ports = self._loaded().get("ports")
        bound = {p for p in ports if isinstance(p, int)} if isinstance(ports, list) else set()
        try:
            text = self.paths.config.read_text()
        except OSError:
            return bound
        return bound | {int(m) for m in re.findall(r"^\s+bind \S+:(\d+)$", text, flags=re.MULTILINE)}

    def _record_loaded(self, settings: Settings, frontends: list[FrontendSpec]) -> None:
        loaded = {
            "structure": structure_digest(settings, frontends),
            "master_pid": process.read_pid(self.paths.pid),
            "ports": [settings.stats_port, *(fe.port for fe in frontends)],
        }
        _write_atomic(self.paths.loaded, json.dumps(loaded))

    def _loaded(self) -> dict[str, object]:
        try:
            data = json.loads(self.paths.loaded.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _loaded_structure(self) -> str | None:
        loaded = self._loaded()
        if loaded.get("master_pid") != process.read_pid(self.paths.pid):
            return None
        structure = loaded.get("structure")
        return structure if isinstance(structure, str) else None

    def _write_config(self, text: str) -> None:
        _write_atomic(self.paths.config, text)

    def _require_binary(self) -> process.Binary:
        if self._binary is None:
            self._binary = process.find_binary(self._haproxy_path)
        return self._binary

    def _settings(self, binary: process.Binary) -> Settings:
        return Settings(
            account=self.account,
            paths=self.paths,
            bind_address=self.bind_address,
            stats_port=self._resolve_stats_port(),
            prometheus=binary.prometheus,
        )

    def _resolve_stats_port(self) -> int:
        if self._stats_port is not None:
            return self._stats_port
        self.paths.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.paths.stats_port
        if not path.exists():
            # Two processes (or two threads of one) may choose at once: the first link wins,
            # all then read its port. Each writer gets a temporary file of its own.
            fd, name = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".tmp", dir=path.parent)
            tmp = Path(name)
            with os.fdopen(fd, "w") as out:
                out.write(str(process.free_port(self.bind_address)))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        try:
            self._stats_port = int(path.read_text().strip())
        except (OSError, ValueError):
            raise HAProxyError(
                f"{path} does not hold a port number; delete it to choose a new stats port"
            ) from None
        return self._stats_port

    def _locked(self) -> AbstractContextManager[None]:
        self.paths.data_dir.mkdir(parents=True, exist_ok=True)
        sockets = self.paths.socket_dir
        if sockets != self.paths.data_dir:
            _private_dir(sockets.parent)
            _private_dir(sockets)
        if len(str(self.paths.master_socket).encode()) > MAX_SOCKET_PATH:
            raise HAProxyError(
                f"no directory short enough for HAProxy's unix sockets ({self.paths.master_socket}); "
                "choose a shorter data directory or TMPDIR"
            )
        return file_lock(self.paths.lock, timeout_seconds=self._lock_timeout)


def _private_dir(path: Path) -> None:
    """Create `path` (mode 700) or check that the existing one is ours and private."""
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise HAProxyError(
            f"{path} (for HAProxy's unix sockets) is not a private directory of this user; remove it"
        )


def _write_atomic(path: Path, text: str) -> None:
    fd, name = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
