"""Starting, adopting, stopping and restarting a real HAProxy; its errors and its exporter."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from gennaker.providers.local.haproxy import (
    FrontendSpec,
    HAProxyError,
    HAProxyManager,
    HAProxyNotInstalled,
    HealthCheckSpec,
    ServerSpec,
)
from gennaker.providers.local.haproxy import process as haproxy_process
from tests.providers.local.haproxy.conftest import Backend, free_port, get, wait_until

pytestmark = pytest.mark.slow

CHECK = HealthCheckSpec(path="/health", interval_seconds=0.2, timeout_seconds=0.5)


def web(port: int, *backends: Backend, name: str = "shop-web") -> FrontendSpec:
    servers = tuple(ServerSpec(name=b.name, address="127.0.0.1", port=b.port) for b in backends)
    return FrontendSpec(name=name, port=port, health_check=CHECK, servers=servers)


def test_starts_serves_and_stops(
    manager: HAProxyManager, backends: list[Backend], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENNAKER_SECRET", "s3cret")
    port = free_port()
    manager.ensure_running([web(port, backends[0], backends[1])])

    assert manager.is_running()
    env = manager.admin.ask("show env")
    assert "GENNAKER_SECRET" not in env and "PATH=" in env
    answers = {get(port)[1] for _ in range(6)}
    assert answers == {"b0", "b1"}
    statuses = manager.status()
    assert [(s.frontend, s.server, s.admin_state, s.weight) for s in statuses] == [
        ("shop-web", "b0", "ready", 100),
        ("shop-web", "b1", "ready", 100),
    ]
    wait_until(lambda: all(s.check_status == "L7OK" for s in manager.status()), what="L7OK checks")
    assert all(s.status == "UP" and s.current_sessions == 0 for s in manager.status())

    manager.stop()
    assert not manager.is_running()
    assert manager.status() == []
    assert haproxy_process.processes_of(manager.paths.config) == []
    with pytest.raises(OSError):
        get(port)


def test_ensure_running_is_idempotent_and_adopts(manager: HAProxyManager, backends: list[Backend]) -> None:
    fe = web(free_port(), backends[0])
    manager.ensure_running([fe])
    worker = manager.worker_pid()
    manager.ensure_running([fe])
    other = HAProxyManager(account="test", data_dir=manager.paths.data_dir)
    other.ensure_running([fe])
    assert other.is_running()
    assert other.worker_pid() == worker
    assert other.stats_url() == manager.stats_url()


def test_adopts_haproxy_started_by_another_process(manager: HAProxyManager, backends: list[Backend]) -> None:
    port = free_port()
    script = (
        "import sys; from pathlib import Path;"
        "from gennaker.providers.local.haproxy import *;"
        "m = HAProxyManager(account='test', data_dir=Path(sys.argv[1]));"
        "m.ensure_running([FrontendSpec(name='shop-web', port=int(sys.argv[2]),"
        " servers=(ServerSpec('b0', '127.0.0.1', int(sys.argv[3])),))]);"
        "print(m.worker_pid())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(manager.paths.data_dir), str(port), str(backends[0].port)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    worker = int(done.stdout.strip())

    assert manager.is_running()
    assert get(port) == (200, "b0")
    fe = FrontendSpec(
        name="shop-web",
        port=port,
        servers=(
            ServerSpec("b0", "127.0.0.1", backends[0].port),
            ServerSpec("b1", "127.0.0.1", backends[1].port),
        ),
    )
    manager.apply([fe])
    assert manager.worker_pid() == worker  # a server change, no reload
    assert [s.server for s in manager.status()] == ["b0", "b1"]


@pytest.mark.parametrize("victim", ["master", "worker"])
def test_kill_9_then_ensure_running_restores_the_frontends(
    manager: HAProxyManager, backends: list[Backend], victim: str
) -> None:
    a, b = free_port(), free_port()
    frontends = [web(a, backends[0], backends[1]), web(b, backends[2], name="shop-api")]
    manager.ensure_running(frontends)
    master = haproxy_process.read_pid(manager.paths.pid)
    assert master is not None
    os.kill(master if victim == "master" else manager.worker_pid(), signal.SIGKILL)
    wait_until(lambda: not manager.is_running(), what="HAProxy to be gone")

    manager.ensure_running(frontends)

    assert manager.is_running()
    assert haproxy_process.read_pid(manager.paths.pid) != master
    assert {get(a)[1] for _ in range(6)} == {"b0", "b1"}
    assert get(b) == (200, "b2")
    assert [(s.frontend, s.server) for s in manager.status()] == [
        ("shop-api", "b2"),
        ("shop-web", "b0"),
        ("shop-web", "b1"),
    ]


def test_a_port_in_use_is_a_clear_error_and_changes_nothing(
    manager: HAProxyManager, backends: list[Backend]
) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(HAProxyError, match=rf"port {port} of load balancer 'shop-web' is already in use"):
            manager.ensure_running([web(port, backends[0])])
        assert not manager.is_running()

        good = web(free_port(), backends[0], name="shop-api")
        manager.ensure_running([good])
        worker = manager.worker_pid()
        with pytest.raises(HAProxyError, match=rf"port {port} of load balancer 'shop-web' is already in use"):
            manager.apply([good, web(port, backends[1])])
        assert manager.worker_pid() == worker
        assert [(s.frontend, s.server) for s in manager.status()] == [("shop-api", "b0")]
        assert get(good.port) == (200, "b0")
    finally:
        taken.close()


def test_missing_haproxy_says_what_to_install(data_dir: Path) -> None:
    missing = HAProxyManager(account="test", data_dir=data_dir, haproxy_path="/nonexistent/haproxy")
    with pytest.raises(HAProxyNotInstalled, match=r"/nonexistent/haproxy.*apt-get install haproxy"):
        missing.ensure_running([FrontendSpec(name="shop-web", port=free_port())])
    assert not missing.is_running()
    assert missing.status() == []
    assert missing.stats_url() is None


def test_prometheus_exporter_answers(manager: HAProxyManager, backends: list[Backend]) -> None:
    stats_port = free_port()
    mgr = HAProxyManager(account="test", data_dir=manager.paths.data_dir, stats_port=stats_port)
    mgr.ensure_running([web(free_port(), backends[0])])
    url = mgr.stats_url()
    assert url == f"http://127.0.0.1:{stats_port}/metrics"
    wait_until(lambda: mgr.status()[0].check_status == "L7OK", what="b0's check")
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    assert 'haproxy_server_status{proxy="shop-web",server="b0",state="UP"} 1' in text
    assert 'haproxy_frontend_http_requests_total{proxy="shop-web"}' in text


def test_stats_port_chosen_once_and_kept(data_dir: Path) -> None:
    first = HAProxyManager(account="test", data_dir=data_dir).stats_url()
    if first is None:
        pytest.skip("HAProxy or its Prometheus exporter is not installed")
    assert HAProxyManager(account="test", data_dir=data_dir).stats_url() == first


def test_threads_of_one_process_choosing_the_stats_port_at_once_agree(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if HAProxyManager(account="test", data_dir=data_dir).stats_url() is None:
        pytest.skip("HAProxy or its Prometheus exporter is not installed")
    (data_dir / "stats-port").unlink()
    real_link = os.link

    def slow_link(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        time.sleep(0.05)  # a slow disk: every thread has written its choice before any links it
        real_link(src, dst)

    monkeypatch.setattr(os, "link", slow_link)
    managers = [HAProxyManager(account="test", data_dir=data_dir) for _ in range(16)]
    start = threading.Barrier(len(managers))
    urls: list[str | None] = []
    errors: list[BaseException] = []

    def choose(mgr: HAProxyManager) -> None:
        start.wait()
        try:
            urls.append(mgr.stats_url())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=choose, args=(m,)) for m in managers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert len(set(urls)) == 1
    assert sorted(p.name for p in data_dir.iterdir() if p.name.startswith("stats-port")) == ["stats-port"]


def test_stop_lets_a_request_in_flight_finish(manager: HAProxyManager, backends: list[Backend]) -> None:
    port = free_port()
    manager.ensure_running([web(port, backends[0])])
    slow: list[tuple[int, str]] = []
    request = threading.Thread(target=lambda: slow.append(get(port, "/?sleep=1")))
    request.start()
    wait_until(lambda: manager.status()[0].current_sessions == 1, what="the slow request to reach b0")

    manager.stop()

    request.join()
    assert slow == [(200, "b0")]
    assert not manager.is_running()


def test_a_lost_load_record_costs_one_reload_and_no_false_port_error(
    manager: HAProxyManager, backends: list[Backend]
) -> None:
    fe = web(free_port(), backends[0])
    manager.ensure_running([fe])
    worker = manager.worker_pid()
    manager.paths.loaded.unlink()

    manager.apply([fe])  # the structure is unknown: reloaded onto the ports it already holds

    assert manager.worker_pid() != worker
    assert get(fe.port) == (200, "b0")
    worker = manager.worker_pid()
    manager.apply([fe])
    assert manager.worker_pid() == worker
