"""Renders the haproxy.cfg for one account from the frontends it must serve."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from gennaker.providers.local.haproxy.specs import FrontendSpec, HealthCheckSpec, ServerSpec, host_port

STATS_PROXY = "_gennaker_stats"
# sun_path holds 108 bytes on Linux, 104 on macOS.
MAX_SOCKET_PATH = 100
# Bumped whenever the rendered global/defaults sections change, so running HAProxys reload once.
TEMPLATE_VERSION = 2


@dataclass(frozen=True)
class Paths:
    """The files HAProxy and the manager keep under an account's data directory."""

    data_dir: Path

    @property
    def config(self) -> Path:
        return self.data_dir / "haproxy.cfg"

    @property
    def pid(self) -> Path:
        return self.data_dir / "haproxy.pid"

    @property
    def socket_dir(self) -> Path:
        """Where the unix sockets live: the data directory, unless its path is too long for one;
        then a directory named after it under the temporary directory (the same for every process)."""
        if len(str(self.data_dir / "master.sock").encode()) <= MAX_SOCKET_PATH:
            return self.data_dir
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"gennaker-haproxy-{os.getuid()}" / digest

    @property
    def admin_socket(self) -> Path:
        return self.socket_dir / "admin.sock"

    @property
    def master_socket(self) -> Path:
        return self.socket_dir / "master.sock"

    @property
    def server_state(self) -> Path:
        return self.data_dir / "server-state"

    @property
    def loaded(self) -> Path:
        return self.data_dir / "loaded.json"

    @property
    def lock(self) -> Path:
        return self.data_dir / "haproxy.lock"

    @property
    def stats_port(self) -> Path:
        return self.data_dir / "stats-port"

    @property
    def start_log(self) -> Path:
        return self.data_dir / "haproxy-start.log"


@dataclass(frozen=True)
class Settings:
    """Per-account settings that shape the rendered configuration."""

    account: str
    paths: Paths
    bind_address: str
    stats_port: int
    prometheus: bool


def render(
    settings: Settings,
    frontends: Sequence[FrontendSpec],
    *,
    include_servers: bool = True,
    start_disabled: Collection[tuple[str, str]] = (),
) -> str:
    """The whole configuration; servers named in `start_disabled` start in maintenance."""
    lines = _header(settings)
    for fe in frontends:
        lines += _frontend(settings, fe)
        lines += _backend(fe, include_servers=include_servers, start_disabled=start_disabled)
    return "\n".join(lines) + "\n"


def structure_digest(settings: Settings, frontends: Sequence[FrontendSpec]) -> str:
    """A digest of everything only a reload can change (all but the servers)."""
    text = render(settings, frontends, include_servers=False)
    return hashlib.sha256(text.encode()).hexdigest()


def server_arguments(server: ServerSpec, check: HealthCheckSpec) -> str:
    """The runtime API's `add server` arguments (dynamic servers ignore `default-server`)."""
    return f"{host_port(server.address, server.port)} weight {server.weight} {_check_arguments(check)}"


def _check_arguments(check: HealthCheckSpec) -> str:
    return (
        f"check inter {_ms(check.interval_seconds)} rise {check.healthy_threshold}"
        f" fall {check.unhealthy_threshold}"
    )


def _ms(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def _header(settings: Settings) -> list[str]:
    p = settings.paths
    lines = [
        f"# Written by Gennaker for the local account {settings.account!r}; Gennaker rewrites it.",
        f"# template {TEMPLATE_VERSION}",
        "global",
        "    master-worker",
        f"    pidfile {p.pid}",
        # expose-fd lets each new worker take the listening sockets over from the old one on a
        # reload, so no connection is refused while the two swap.
        f"    stats socket {p.admin_socket} mode 600 level admin expose-fd listeners",
        "    stats timeout 10s",
        f"    server-state-file {p.server_state}",
        # Old workers finish their in-flight requests after a reload, within this bound.
        "    hard-stop-after 30s",
        "    nbthread 1",
        # A port already taken by another HAProxy (or anything binding with SO_REUSEPORT) must
        # fail the bind, not quietly share the port and its traffic with that program.
        "    noreuseport",
        "    maxconn 4096",
        "",
        "defaults",
        "    mode http",
        "    timeout connect 3s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout queue 10s",
        "    timeout http-request 10s",
        "    timeout http-keep-alive 10s",
        # A request whose connection to a server fails is retried, on another server once.
        "    retries 3",
        "    option redispatch 1",
        # Keeps servers' health, drain/maint state and weights across reloads.
        "    load-server-state-from-file global",
        # On a reload, idle keep-alive client connections get one more answer (with
        # Connection: close) instead of being closed under a client about to reuse them.
        "    option idle-close-on-response",
        "",
        f"frontend {STATS_PROXY}",
        f"    bind {host_port(settings.bind_address, settings.stats_port)}",
        "    mode http",
        "    no log",
    ]
    if settings.prometheus:
        lines.append("    http-request use-service prometheus-exporter if { path /metrics }")
    lines += ["    stats enable", "    stats uri /", "    stats refresh 10s", ""]
    return lines


def _frontend(settings: Settings, fe: FrontendSpec) -> list[str]:
    mode = "http" if fe.protocol == "HTTP" else "tcp"
    lines = [
        f"frontend {fe.name}",
        f"    bind {host_port(settings.bind_address, fe.port)}",
        f"    mode {mode}",
    ]
    if mode == "http":
        lines.append("    option forwardfor")
    lines += [f"    default_backend {fe.name}", ""]
    return lines


def _backend(
    fe: FrontendSpec, *, include_servers: bool, start_disabled: Collection[tuple[str, str]]
) -> list[str]:
    check = fe.health_check
    mode = "http" if fe.protocol == "HTTP" else "tcp"
    lines = [f"backend {fe.name}", f"    mode {mode}", "    balance roundrobin"]
    if mode == "http":
        # A request that reached a server which closed without answering is replayed elsewhere,
        # but only when replaying it is safe.
        lines += [
            # No idle connections kept to servers: a removed server has nothing left attached,
            # and a drained one is empty as soon as its last response is sent.
            "    option http-server-close",
            "    retry-on conn-failure empty-response",
            "    http-request disable-l7-retry unless { method GET HEAD OPTIONS PUT DELETE }",
        ]
    if check.path is not None:
        lines += [
            "    option httpchk",
            f"    http-check send meth GET uri {check.path} ver HTTP/1.1 hdr Host localhost",
            "    http-check expect status 200-399",
        ]
    lines.append(f"    timeout check {_ms(check.timeout_seconds)}")
    lines.append(f"    default-server {_check_arguments(check)}")
    if include_servers:
        for server in fe.servers:
            disabled = server.state == "maint" or (fe.name, server.name) in start_disabled
            suffix = " disabled" if disabled else ""
            address = host_port(server.address, server.port)
            lines.append(f"    server {server.name} {address} weight {server.weight}{suffix}")
    lines.append("")
    return lines
