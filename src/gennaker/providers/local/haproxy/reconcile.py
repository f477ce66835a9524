"""Server changes through the runtime API: add, remove, weight, drain and maintenance, no reload."""

from __future__ import annotations

import time
from collections.abc import Sequence

from gennaker.providers.local.haproxy.config import server_arguments
from gennaker.providers.local.haproxy.errors import HAProxyError
from gennaker.providers.local.haproxy.runtime import (
    RuntimeAPI,
    RuntimeServer,
    parse_servers_state,
    parse_stat,
)
from gennaker.providers.local.haproxy.specs import FrontendSpec, ServerSpec


def reconcile_servers(
    api: RuntimeAPI, frontends: Sequence[FrontendSpec], *, removal_grace_seconds: float
) -> int:
    """Bring every backend's servers to the spec; returns the number of commands sent.

    New servers come first, then weight and state changes, removals last: capacity arrives before
    it leaves. A server that leaves maintenance (new ones start there) takes requests only once
    its checks pass.
    """
    current: dict[str, dict[str, RuntimeServer]] = {}
    for row in parse_servers_state(api.ask("show servers state")):
        current.setdefault(row.backend, {})[row.name] = row
    sent = 0
    removals: list[tuple[str, str]] = []
    enabling: list[tuple[FrontendSpec, ServerSpec]] = []
    for fe in frontends:
        have = current.get(fe.name, {})
        wanted = {s.name: s for s in fe.servers}
        for name in have.keys() - wanted.keys():
            removals.append((fe.name, name))
        for name, spec in wanted.items():
            server = have.get(name)
            if server is not None and (server.address, server.port) != (spec.address, spec.port):
                sent += _remove(api, [(fe.name, name)], removal_grace_seconds)
                server = None
            if server is None:
                sent += _add(api, fe, spec)
                if spec.state != "maint":
                    enabling.append((fe, spec))
                continue
            if server.weight != spec.weight:
                api.command(f"set server {fe.name}/{name} weight {spec.weight}")
                sent += 1
            if server.admin_state == "maint" and spec.state != "maint":
                enabling.append((fe, spec))
            elif server.admin_state != spec.state:
                api.command(f"set server {fe.name}/{name} state {spec.state}")
                sent += 1
    for fe, spec in enabling:
        sent += _enable(api, fe.name, spec)
    if removals:
        sent += _remove(api, removals, removal_grace_seconds)
    return sent


def _add(api: RuntimeAPI, fe: FrontendSpec, spec: ServerSpec) -> int:
    path = f"{fe.name}/{spec.name}"
    # `add server` creates the server in maintenance; its checks are enabled separately.
    api.command(f"add server {path} {server_arguments(spec, fe.health_check)}")
    api.command(f"enable health {path}")
    return 2


def _enable(api: RuntimeAPI, backend: str, spec: ServerSpec) -> int:
    """Take a server out of maintenance so that it serves only once its checks pass.

    Leaving maintenance, HAProxy counts a checked server as UP until `fall` checks fail. So it
    leaves with weight 0 (no requests), is forced DOWN, and gets its weight back: from there
    `rise` passing checks bring it UP.
    """
    path = f"{backend}/{spec.name}"
    api.command(f"set server {path} weight 0")
    api.command(f"set server {path} state {spec.state}")
    api.command(f"set server {path} health down")
    api.command(f"set server {path} weight {spec.weight}")
    return 4


def _remove(api: RuntimeAPI, servers: list[tuple[str, str]], grace_seconds: float) -> int:
    """Put the servers in maintenance (no new requests), give their in-flight requests the grace
    period, then delete them."""
    for backend, name in servers:
        api.command(f"set server {backend}/{name} state maint")
    sent = len(servers)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and _busy(api, servers):
        sent += 1
        time.sleep(0.05)
    for backend, name in servers:
        sent += _delete(api, f"{backend}/{name}")
    return sent


def _delete(api: RuntimeAPI, path: str) -> int:
    for attempt in range(40):
        answer = api.ask(f"del server {path}").strip()
        if answer == "Server deleted." or "No such server" in answer or "Unknown" in answer:
            return attempt + 1
        if "connections attached" not in answer and "queue" not in answer:
            raise HAProxyError(f"HAProxy refused to remove server {path}: {answer}")
        # Past the grace period: end what is left.
        api.command(f"shutdown sessions server {path}")
        time.sleep(0.05)
    raise HAProxyError(f"HAProxy kept server {path} busy; it could not be removed")


def _busy(api: RuntimeAPI, servers: list[tuple[str, str]]) -> bool:
    wanted = set(servers)
    return any(
        row.current_sessions + row.queued > 0
        for row in parse_stat(api.ask("show stat"))
        if (row.backend, row.server) in wanted
    )
