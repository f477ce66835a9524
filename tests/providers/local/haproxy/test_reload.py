"""Configuration changes reload HAProxy seamlessly: a client sending steady requests sees none fail."""

from __future__ import annotations

import threading

import pytest

from gennaker.providers.local.haproxy import FrontendSpec, HAProxyManager, HealthCheckSpec, ServerSpec
from tests.providers.local.haproxy.conftest import Backend, SteadyClient, free_port, get, wait_until, wait_up

pytestmark = pytest.mark.slow

CHECK = HealthCheckSpec(path="/health", interval_seconds=0.2, timeout_seconds=0.5)


def srv(backend: Backend, **kwargs: object) -> ServerSpec:
    return ServerSpec(name=backend.name, address="127.0.0.1", port=backend.port, **kwargs)  # type: ignore[arg-type]


def test_changes_under_steady_load_fail_no_request(manager: HAProxyManager, backends: list[Backend]) -> None:
    b0, b1, b2 = backends
    web, api = free_port(), free_port()
    first = FrontendSpec(name="shop-web", port=web, health_check=CHECK, servers=(srv(b0), srv(b1)))
    manager.ensure_running([first])
    wait_up(manager, "shop-web", {"b0", "b1"})
    workers = {manager.worker_pid()}
    client = SteadyClient(port=web).start()
    try:
        wait_until(lambda: client.sent > 20, what="the client to get going")
        # A new load balancer: a reload.
        other = FrontendSpec(name="shop-api", port=api, health_check=CHECK, servers=(srv(b2),))
        manager.apply([first, other])
        workers.add(manager.worker_pid())
        wait_up(manager, "shop-api", {"b2"})
        assert get(api) == (200, "b2")
        # A different health check: a reload, with a server added in the same change.
        recheck = FrontendSpec(
            name="shop-web",
            port=web,
            health_check=HealthCheckSpec(path="/health", interval_seconds=0.3, timeout_seconds=0.5),
            servers=(srv(b0), srv(b1), srv(b2)),
        )
        manager.apply([recheck, other])
        workers.add(manager.worker_pid())
        wait_up(manager, "shop-web", {"b2"})
        # Drain b0, wait for its requests, then take it out: runtime changes only.
        drain = FrontendSpec(
            name="shop-web",
            port=web,
            health_check=recheck.health_check,
            servers=(srv(b0, state="drain"), srv(b1), srv(b2)),
        )
        manager.apply([drain, other])
        assert manager.wait_drained("shop-web", ["b0"], timeout_seconds=10)
        manager.apply(
            [
                FrontendSpec(
                    name="shop-web", port=web, health_check=recheck.health_check, servers=(srv(b1), srv(b2))
                ),
                other,
            ]
        )
        # The other load balancer goes away: a reload.
        manager.apply(
            [
                FrontendSpec(
                    name="shop-web", port=web, health_check=recheck.health_check, servers=(srv(b1), srv(b2))
                )
            ]
        )
        workers.add(manager.worker_pid())
        settled = client.sent
        wait_until(lambda: client.sent > settled + 20, what="requests after the last change")
    finally:
        client.stop()

    assert len(workers) == 4  # three reloads happened
    assert client.failures == []
    assert client.sent > 40
    assert {"b0", "b1", "b2"} <= set(client.answered_by)
    with pytest.raises(OSError):
        get(api)


def test_a_server_that_dies_fails_no_request(manager: HAProxyManager, backends: list[Backend]) -> None:
    """Requests sent to a server that stopped listening are retried on another one."""
    b0, b1, b2 = backends
    port = free_port()
    slow_check = HealthCheckSpec(path="/health", interval_seconds=5, timeout_seconds=1)
    manager.ensure_running(
        [
            FrontendSpec(
                name="shop-web", port=port, health_check=slow_check, servers=(srv(b0), srv(b1), srv(b2))
            )
        ]
    )
    client = SteadyClient(port=port).start()
    try:
        wait_until(lambda: client.sent > 20, what="the client to get going")
        b0.close()  # refuses connections from now on; HAProxy's check has not noticed yet
        dead_at = client.sent
        wait_until(lambda: client.sent > dead_at + 60, what="requests after b0 died")
    finally:
        client.stop()
    assert client.failures == []
    assert {"b1", "b2"} <= set(client.answered_by)


def test_a_tcp_load_balancer(manager: HAProxyManager, backends: list[Backend]) -> None:
    b0, b1, _ = backends
    port = free_port()
    tcp = FrontendSpec(
        name="shop-tcp",
        port=port,
        protocol="TCP",
        health_check=HealthCheckSpec(path=None, interval_seconds=0.2),
        servers=(srv(b0), srv(b1)),
    )
    manager.ensure_running([tcp])
    wait_up(manager, "shop-tcp", {"b0", "b1"})
    assert {get(port)[1] for _ in range(6)} == {"b0", "b1"}
    assert {s.check_status for s in manager.status()} == {"L4OK"}
    assert "    mode tcp" in manager.paths.config.read_text()


def test_a_request_in_flight_during_a_reload_completes(
    manager: HAProxyManager, backends: list[Backend]
) -> None:
    b0 = backends[0]
    port = free_port()
    first = FrontendSpec(name="shop-web", port=port, health_check=CHECK, servers=(srv(b0),))
    manager.ensure_running([first])
    worker = manager.worker_pid()
    slow: list[tuple[int, str]] = []
    request = threading.Thread(target=lambda: slow.append(get(port, "/?sleep=1")))
    request.start()
    wait_until(lambda: manager.status()[0].current_sessions == 1, what="the slow request to reach b0")

    manager.apply([first, FrontendSpec(name="shop-api", port=free_port(), servers=(srv(backends[1]),))])

    assert manager.worker_pid() != worker
    request.join()
    assert slow == [(200, "b0")]


def test_a_red_black_swap_under_steady_load_fails_no_request(
    manager: HAProxyManager, backends: list[Backend]
) -> None:
    """The order a red/black deploy uses: new servers in, wait for them UP, drain the old, remove them."""
    b0, b1, b2 = backends
    port = free_port()

    def lb(*servers: ServerSpec) -> list[FrontendSpec]:
        return [FrontendSpec(name="shop-web", port=port, health_check=CHECK, servers=servers)]

    manager.ensure_running(lb(srv(b0), srv(b1)))
    worker = manager.worker_pid()
    client = SteadyClient(port=port).start()
    try:
        wait_until(lambda: client.sent > 20, what="the client to get going")
        manager.apply(lb(srv(b0), srv(b1), srv(b2)))
        wait_up(manager, "shop-web", {"b2"})
        manager.apply(lb(srv(b0, state="drain"), srv(b1, state="drain"), srv(b2)))
        assert manager.wait_drained("shop-web", ["b0", "b1"], timeout_seconds=10)
        manager.apply(lb(srv(b2)))
        settled = client.sent
        wait_until(lambda: client.sent > settled + 20, what="requests after the swap")
    finally:
        client.stop()
    assert client.failures == []
    assert manager.worker_pid() == worker
    assert {"b0", "b1", "b2"} <= set(client.answered_by)
    assert [s.server for s in manager.status()] == ["b2"]
