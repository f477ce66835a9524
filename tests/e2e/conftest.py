"""Fixtures of the end-to-end suites that run on a real ``gennaker up``."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_local_provider import GENNAKER, Up


@pytest.fixture
def gennaker_up(tmp_path: Path) -> Iterator[Up]:
    """A ``gennaker up`` on a throw-away database; every deployed process stopped afterwards."""
    server = Up(tmp_path)
    try:
        yield server
    finally:
        server.stop()
        cleanup = subprocess.run(
            [GENNAKER, "local", "stop-all", "--yes"],
            env=server.env,
            cwd=server.tmp,
            capture_output=True,
            timeout=120,
        )
        assert cleanup.returncode == 0, cleanup.stderr
