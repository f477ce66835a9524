"""Instance supervision in a lone ``gennaker worker`` (no scheduler role anywhere): real worker
processes on one SQLite file, a real deployed instance. SIGKILL the instance and a worker starts
it again; with two workers running, exactly one of them does (the supervisor's lease)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gennaker.providers.local.provider import LocalProvider
from gennaker.providers.local.state import RUNNING
from gennaker.providers.protocol import OperationRequest
from gennaker.services import Services
from gennaker.testing import make_services

GENNAKER = str(Path(sys.executable).with_name("gennaker"))
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello"
INSTANCE = "shop-web-v000-0"


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[tuple[Services, dict[str, str]]]:
    """One server group of one instance (no load balancer), deployed by this test process."""
    data_dir = tempfile.mkdtemp(prefix="gk-")
    url = f"sqlite:///{tmp_path / 'workers.db'}"
    services = make_services(url, data_dir=data_dir)
    provider = services.clouddriver.registry.get("local")
    package = tmp_path / "hello"
    shutil.copytree(EXAMPLE, package)
    submit = services.clouddriver.operations.submit
    baked = asyncio.run(
        submit(provider, OperationRequest("b", "bake", {"package": str(package)}, "local", "shop"))
    )
    assert baked.result is not None
    description = {
        "application": "shop",
        "stack": "web",
        "command": [sys.executable, "app.py"],
        "imageId": baked.result["imageId"],
        "capacity": {"min": 1, "max": 1, "desired": 1},
        "healthCheck": {"path": "/health", "intervalSeconds": 1},
    }
    created = asyncio.run(
        submit(provider, OperationRequest("c", "createServerGroup", description, "local", "shop"))
    )
    assert created.status == "SUCCEEDED", created.error
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GENNAKER_")},
        "GENNAKER_DATABASE_URL": url,
        "GENNAKER_DATA_DIR": data_dir,
        "GENNAKER_LOG_LEVEL": "info",
    }
    try:
        yield services, env
    finally:
        assert isinstance(provider, LocalProvider)
        provider.stop_all()
        services.close()
        shutil.rmtree(data_dir, ignore_errors=True)


def _pid(services: Services) -> int | None:
    provider = services.clouddriver.registry.get("local")
    assert isinstance(provider, LocalProvider)
    instance = provider.runtimes["local"].state.instance(INSTANCE)
    return instance.pid if instance is not None and instance.state == RUNNING else None


def _processes_of(instance_id: str, data_dir: str) -> list[int]:
    """Live processes whose environment names the instance and that run under ``data_dir`` (other
    tests on this machine may run an instance of the same name)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if not cwd.startswith(os.path.realpath(data_dir)):
            continue
        if f"GENNAKER_INSTANCE_ID={instance_id}".encode() in environ.split(b"\0") and ") Z" not in stat:
            found.append(int(entry.name))
    return found


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([GENNAKER, "worker"], env=env, stdout=out, stderr=out)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_a_lone_worker_restarts_a_killed_instance_and_two_workers_restart_it_once(
    deployed: tuple[Services, dict[str, str]], tmp_path: Path
) -> None:
    services, env = deployed
    first = _pid(services)
    assert first is not None
    assert _processes_of(INSTANCE, env["GENNAKER_DATA_DIR"]) == [first]
    workers = [_worker(env, tmp_path / "worker-1.log"), _worker(env, tmp_path / "worker-2.log")]
    try:
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while (_pid(services) in (None, first)) and time.monotonic() < deadline:
            assert all(w.poll() is None for w in workers), (tmp_path / "worker-1.log").read_text()
            time.sleep(0.2)
        second = _pid(services)
        assert second not in (None, first), (tmp_path / "worker-1.log").read_text()
        # Give a second supervisor (if there were one) time to act on the same exit: one round.
        time.sleep(3)
        logs = (tmp_path / "worker-1.log").read_text() + (tmp_path / "worker-2.log").read_text()
        assert _processes_of(INSTANCE, env["GENNAKER_DATA_DIR"]) == [second], logs
        assert logs.count(f"instance {INSTANCE} exited") == 1
        assert _pid(services) == second
    finally:
        for worker in workers:
            _stop(worker)
