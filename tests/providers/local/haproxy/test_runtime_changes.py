"""Server changes (add, remove, weight, drain, maint) through HAProxy's runtime API, no reload."""

from __future__ import annotations

import threading

import pytest

from gennaker.providers.local.haproxy import FrontendSpec, HAProxyManager, HealthCheckSpec, ServerSpec
from tests.providers.local.haproxy.conftest import Backend, free_port, get, wait_until, wait_up

pytestmark = pytest.mark.slow

CHECK = HealthCheckSpec(path="/health", interval_seconds=0.2, timeout_seconds=0.5)


def lb(port: int, *servers: ServerSpec) -> FrontendSpec:
    return FrontendSpec(name="shop-web", port=port, health_check=CHECK, servers=servers)


def srv(backend: Backend, **kwargs: object) -> ServerSpec:
    return ServerSpec(name=backend.name, address="127.0.0.1", port=backend.port, **kwargs)  # type: ignore[arg-type]


def answers(port: int, n: int = 12) -> dict[str, int]:
    seen: dict[str, int] = {}
    for _ in range(n):
        status, body = get(port)
        assert status == 200, body
        seen[body] = seen.get(body, 0) + 1
    return seen


def test_add_weight_state_and_remove_keep_the_worker(
    manager: HAProxyManager, backends: list[Backend]
) -> None:
    b0, b1, b2 = backends
    port = free_port()
    manager.ensure_running([lb(port, srv(b0))])
    worker = manager.worker_pid()

    manager.apply([lb(port, srv(b0), srv(b1), srv(b2))])
    wait_up(manager, "shop-web", {"b0", "b1", "b2"})
    assert set(answers(port)) == {"b0", "b1", "b2"}

    manager.apply([lb(port, srv(b0, weight=0), srv(b1, state="drain"), srv(b2, weight=7))])
    assert set(answers(port)) == {"b2"}
    by_name = {s.server: s for s in manager.status()}
    assert (by_name["b0"].weight, by_name["b0"].admin_state) == (0, "ready")
    assert by_name["b1"].admin_state == "drain" and by_name["b1"].status.startswith("DRAIN")
    assert by_name["b2"].weight == 7

    manager.apply([lb(port, srv(b0, state="maint"), srv(b1), srv(b2))])
    wait_up(manager, "shop-web", {"b1"})
    by_name = {s.server: s for s in manager.status()}
    assert (by_name["b0"].admin_state, by_name["b0"].status) == ("maint", "MAINT")
    assert set(answers(port)) == {"b1", "b2"}

    manager.apply([lb(port, srv(b2))])
    assert [s.server for s in manager.status()] == ["b2"]
    assert set(answers(port)) == {"b2"}

    assert manager.worker_pid() == worker
    # The file keeps what the runtime API did, so a reload or restart serves the same servers.
    text = manager.paths.config.read_text()
    assert f"server b2 127.0.0.1:{b2.port} weight 100" in text
    assert "server b0 " not in text


def test_a_new_server_takes_traffic_only_after_its_check_passes(
    manager: HAProxyManager, backends: list[Backend]
) -> None:
    b0, b1, _ = backends
    port = free_port()
    manager.ensure_running([lb(port, srv(b0))])
    b1.healthy = False

    manager.apply([lb(port, srv(b0), srv(b1))])

    wait_until(lambda: manager.status()[1].check_status == "L7STS", what="b1's failed check")
    sick = next(s for s in manager.status() if s.server == "b1")
    assert sick.status.startswith("DOWN") and sick.admin_state == "ready"
    assert set(answers(port)) == {"b0"}
    assert b1.served == 0
    b1.healthy = True
    wait_until(lambda: "b1" in answers(port, 4), what="b1 to take traffic once healthy")


def test_changing_a_servers_port_replaces_it(manager: HAProxyManager, backends: list[Backend]) -> None:
    b0, b1, _ = backends
    port = free_port()
    manager.ensure_running([lb(port, srv(b0))])
    worker = manager.worker_pid()
    manager.apply([lb(port, ServerSpec(name="b0", address="127.0.0.1", port=b1.port))])
    wait_up(manager, "shop-web", {"b0"})
    assert set(answers(port, 4)) == {"b1"}
    assert manager.worker_pid() == worker


def test_wait_drained_waits_for_in_flight_requests(manager: HAProxyManager, backends: list[Backend]) -> None:
    b0, b1, _ = backends
    port = free_port()
    manager.ensure_running([lb(port, srv(b0))])
    slow: list[tuple[int, str]] = []
    request = threading.Thread(target=lambda: slow.append(get(port, "/?sleep=1.5")))
    request.start()
    wait_until(lambda: manager.status()[0].current_sessions == 1, what="the slow request to reach b0")

    manager.apply([lb(port, srv(b0, state="drain"), srv(b1))])
    wait_up(manager, "shop-web", {"b1"})
    assert manager.wait_drained("shop-web", ["b0"], timeout_seconds=0.1) is False
    assert manager.wait_drained("shop-web", ["b0"], timeout_seconds=30) is True
    request.join()
    assert slow == [(200, "b0")]
    assert set(answers(port, 4)) == {"b1"}
    manager.apply([lb(port, srv(b1))])
    assert [s.server for s in manager.status()] == ["b1"]
    assert manager.wait_drained("shop-web", ["b0"], timeout_seconds=0) is True


def test_removing_a_busy_server_lets_its_request_finish(
    manager: HAProxyManager, backends: list[Backend]
) -> None:
    b0, b1, _ = backends
    port = free_port()
    manager.ensure_running([lb(port, srv(b0), srv(b1))])
    slow: list[tuple[int, str]] = []
    request = threading.Thread(target=lambda: slow.append(get(port, "/?sleep=1")))
    request.start()
    wait_until(lambda: any(s.current_sessions for s in manager.status()), what="the slow request")
    busy = next(s.server for s in manager.status() if s.current_sessions)
    keep = b1 if busy == "b0" else b0

    manager.apply([lb(port, srv(keep))])

    request.join()
    assert slow == [(200, busy)]
    assert [s.server for s in manager.status()] == [keep.name]
