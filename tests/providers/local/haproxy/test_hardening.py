"""Faults around the HAProxy manager: two processes at once, a stuck HAProxy, a silent socket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gennaker.providers.local.haproxy import (
    FrontendSpec,
    HAProxyError,
    HAProxyManager,
    HealthCheckSpec,
    ServerSpec,
)
from gennaker.providers.local.haproxy import process as haproxy_process
from gennaker.providers.local.haproxy.runtime import RuntimeAPI
from tests.providers.local.haproxy.conftest import Backend, free_port, get, wait_up

CHECK = HealthCheckSpec(path="/health", interval_seconds=0.2, timeout_seconds=0.5)

_APPLY = """
import sys
from pathlib import Path
from gennaker.providers.local.haproxy import *
data_dir, lb_port, *ports = sys.argv[1:]
servers = tuple(ServerSpec(f"s{p}", "127.0.0.1", int(p)) for p in ports)
manager = HAProxyManager(account="test", data_dir=Path(data_dir))
for _ in range(3):
    manager.apply([FrontendSpec(name="shop-web", port=int(lb_port), servers=servers)])
"""


@pytest.mark.slow
def test_two_processes_applying_at_once_share_one_haproxy(
    manager: HAProxyManager, backends: list[Backend]
) -> None:
    port = free_port()
    b0, b1, _ = backends
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _APPLY, str(manager.paths.data_dir), str(port), *map(str, ports)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for ports in ((b0.port,), (b0.port, b1.port))
    ]
    errors = [run.communicate(timeout=120)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors

    # One master and one worker: the flock kept the second process from starting its own.
    assert len(haproxy_process.processes_of(manager.paths.config)) == 2
    names = {s.server for s in manager.status()}
    assert names in ({f"s{b0.port}"}, {f"s{b0.port}", f"s{b1.port}"})
    assert get(port)[0] in (200, 503)


@pytest.mark.slow
def test_a_stuck_haproxy_is_replaced(data_dir: Path, backends: list[Backend]) -> None:
    from tests.providers.local.haproxy.conftest import require_haproxy

    require_haproxy()
    manager = HAProxyManager(account="test", data_dir=data_dir, socket_timeout_seconds=0.5)
    port = free_port()
    frontends = [
        FrontendSpec(
            name="shop-web",
            port=port,
            health_check=CHECK,
            servers=(ServerSpec("b0", "127.0.0.1", backends[0].port),),
        )
    ]
    try:
        manager.ensure_running(frontends)
        stuck = haproxy_process.processes_of(manager.paths.config)
        for pid in stuck:
            os.kill(pid, signal.SIGSTOP)
        with pytest.raises(HAProxyError, match="did not answer 'show' within 0.5s"):
            manager.status()

        manager.ensure_running(frontends)

        assert not set(stuck) & set(haproxy_process.processes_of(manager.paths.config))
        wait_up(manager, "shop-web", {"b0"})
        assert get(port) == (200, "b0")
    finally:
        manager.stop()


def test_a_silent_runtime_socket_times_out(data_dir: Path) -> None:
    path = data_dir / "silent.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True)
    thread.start()
    try:
        with pytest.raises(HAProxyError, match=r"did not answer 'show' within 0.2s"):
            RuntimeAPI(path, timeout_seconds=0.2).ask("show stat")
    finally:
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        server.close()


def test_a_missing_runtime_socket_is_a_clear_error(data_dir: Path) -> None:
    with pytest.raises(HAProxyError, match=r"runtime API at .*admin.sock is unreachable.*is HAProxy running"):
        RuntimeAPI(data_dir / "admin.sock").ask("show info")


@pytest.mark.slow
def test_a_data_directory_too_long_for_unix_sockets_still_works(
    data_dir: Path, backends: list[Backend]
) -> None:
    from tests.providers.local.haproxy.conftest import require_haproxy

    require_haproxy()
    long_dir = data_dir / ("d" * 90) / "haproxy"
    manager = HAProxyManager(account="test", data_dir=long_dir)
    port = free_port()
    try:
        manager.ensure_running(
            [
                FrontendSpec(
                    name="shop-web", port=port, servers=(ServerSpec("b0", "127.0.0.1", backends[0].port),)
                )
            ]
        )
        assert manager.paths.admin_socket.parent != long_dir
        assert len(str(manager.paths.admin_socket)) <= 100
        assert oct(manager.paths.admin_socket.parent.stat().st_mode & 0o777) == "0o700"
        assert get(port) == (200, "b0")
        assert HAProxyManager(account="test", data_dir=long_dir).is_running()
    finally:
        manager.stop()


def test_no_directory_short_enough_for_the_sockets_is_a_clear_error(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    long_tmp = tmp_path / ("t" * 100)
    long_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(long_tmp))
    manager = HAProxyManager(account="test", data_dir=data_dir / ("d" * 90) / "haproxy")
    with pytest.raises(HAProxyError, match=r"no directory short enough for HAProxy's unix sockets .*TMPDIR"):
        manager.ensure_running([])
