"""What the local provider asks HAProxy to serve, and what HAProxy reports back."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from gennaker.providers.local.haproxy.errors import HAProxyError

AdminState = Literal["ready", "drain", "maint"]

# HAProxy accepts letters, digits, '-', '_', '.' and ':' in proxy and server names; names starting
# with '_' are kept for the manager's own proxies.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_PATH = re.compile(r"^/[\x21-\x7e]*$")


@dataclass(frozen=True)
class HealthCheckSpec:
    """HAProxy's per-server check for a backend: a TCP connect, or an HTTP GET of `path`."""

    path: str | None
    interval_seconds: float = 2.0
    timeout_seconds: float = 1.0
    healthy_threshold: int = 2
    unhealthy_threshold: int = 2


@dataclass(frozen=True)
class ServerSpec:
    """One instance in a load balancer's backend."""

    name: str
    address: str
    port: int
    weight: int = 100
    state: AdminState = "ready"


@dataclass(frozen=True)
class FrontendSpec:
    """One load balancer: a frontend on one port with one backend of the same name."""

    name: str
    port: int
    protocol: Literal["HTTP", "TCP"] = "HTTP"
    health_check: HealthCheckSpec = HealthCheckSpec(path=None)
    servers: tuple[ServerSpec, ...] = ()


@dataclass(frozen=True)
class ServerStatus:
    """What HAProxy reports for one server (`show stat` and `show servers state`)."""

    frontend: str
    server: str
    status: str
    check_status: str | None
    current_sessions: int
    weight: int
    admin_state: AdminState


def validate_frontends(frontends: Sequence[FrontendSpec], *, reserved_ports: Sequence[int] = ()) -> None:
    """Raise HAProxyError naming the load balancer and field when a spec cannot be served."""
    names: set[str] = set()
    ports: dict[int, str] = {}
    for fe in frontends:
        where = f"load balancer {fe.name!r}"
        if not _NAME.match(fe.name):
            raise HAProxyError(
                f"{where}: the name may only hold letters, digits, '-', '_', '.' and ':' "
                "(starting with a letter or digit, at most 64 characters)"
            )
        if fe.name in names:
            raise HAProxyError(f"{where} is listed twice")
        names.add(fe.name)
        _check_port(fe.port, f"{where}: listener port")
        if fe.port in reserved_ports:
            raise HAProxyError(f"{where}: port {fe.port} is the account's HAProxy stats port; pick another")
        if fe.port in ports:
            raise HAProxyError(
                f"{where}: port {fe.port} is already the port of load balancer {ports[fe.port]!r}"
            )
        ports[fe.port] = fe.name
        if fe.protocol not in ("HTTP", "TCP"):
            raise HAProxyError(f"{where}: protocol {fe.protocol!r} is not HTTP or TCP")
        _validate_check(fe.health_check, where)
        servers: set[str] = set()
        for server in fe.servers:
            _validate_server(server, f"{where}, server {server.name!r}")
            if server.name in servers:
                raise HAProxyError(f"{where}: server {server.name!r} is listed twice")
            servers.add(server.name)


def _validate_check(check: HealthCheckSpec, where: str) -> None:
    if check.path is not None and not _PATH.match(check.path):
        raise HAProxyError(
            f"{where}: health check path {check.path!r} must start with '/' and hold no spaces"
        )
    if not 0 < check.interval_seconds <= 3600:
        raise HAProxyError(f"{where}: health check interval must be between 0 and 3600 seconds")
    if not 0 < check.timeout_seconds <= 3600:
        raise HAProxyError(f"{where}: health check timeout must be between 0 and 3600 seconds")
    for label, value in (("healthy", check.healthy_threshold), ("unhealthy", check.unhealthy_threshold)):
        if not 1 <= value <= 100:
            raise HAProxyError(f"{where}: {label} threshold {value} must be between 1 and 100")


def _validate_server(server: ServerSpec, where: str) -> None:
    if not _NAME.match(server.name):
        raise HAProxyError(
            f"{where}: the name may only hold letters, digits, '-', '_', '.' and ':' "
            "(starting with a letter or digit, at most 64 characters)"
        )
    try:
        ipaddress.ip_address(server.address)
    except ValueError:
        raise HAProxyError(f"{where}: address {server.address!r} is not an IP address") from None
    _check_port(server.port, f"{where}: port")
    if not 0 <= server.weight <= 256:
        raise HAProxyError(f"{where}: weight {server.weight} must be between 0 and 256")
    if server.state not in ("ready", "drain", "maint"):
        raise HAProxyError(f"{where}: state {server.state!r} is not ready, drain or maint")


def _check_port(port: int, where: str) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise HAProxyError(f"{where} {port!r} must be a number between 1 and 65535")


def host_port(address: str, port: int) -> str:
    """`address:port` as HAProxy reads it (IPv6 addresses in brackets)."""
    if ":" in address:
        return f"[{address}]:{port}"
    return f"{address}:{port}"
