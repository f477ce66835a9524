"""Fixtures of the web UI's tests: a real ``gennaker up`` on a free port with its own data
directory, and one Chromium (Debian's ``chromium`` package, driven by Playwright) per module."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import IN_CI

GENNAKER = str(Path(sys.executable).with_name("gennaker"))
CHROMIUM = "/usr/bin/chromium"
#: Screenshots for docs/ui.md are written here by the browser tests, so they stay current.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "ui"


class Server:
    """A ``gennaker up`` subprocess (127.0.0.1, free port, SQLite in its own directory)."""

    def __init__(self, directory: Path, env: dict[str, str] | None = None) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = directory
        self.log_path = directory / "up.log"
        full_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GENNAKER_")},
            "GENNAKER_DATABASE_URL": f"sqlite:///{directory / 'gennaker.db'}",
            "GENNAKER_PORT": str(self.port),
            **(env or {}),
        }
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                [GENNAKER, "up"], cwd=directory, env=full_env, stdout=log, stderr=subprocess.STDOUT
            )
        # Generous: the machine may be busy with other test processes.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gennaker up exited {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"gennaker up did not become ready:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.url + path, timeout=10, **kwargs)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def require_chromium() -> None:
    """Skip (laptop) or fail (CI) without Debian's chromium; no browser is ever downloaded."""
    if Path(CHROMIUM).exists() and shutil.which("chromium"):
        return
    message = f"the browser tests need Debian's chromium at {CHROMIUM} (make test installs it)"
    if IN_CI:
        pytest.fail(message + " (CI=true: browser tests must run)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()
