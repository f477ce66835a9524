from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gennaker.cli.main import build_app
from gennaker.clock import SystemClock
from gennaker.config import load_settings
from gennaker.services import build_services
from tests.api.live import LiveServer
from tests.engine.fakes import EngineTestPlugin


class Cli:
    """Runs ``gennaker`` commands in-process against one API endpoint."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.app = build_app()
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Any:
        return self.runner.invoke(self.app, list(args), env=self.env, input=input, catch_exceptions=False)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """The API with a worker, on a real clock and a SQLite file, on 127.0.0.1."""
    settings = load_settings(environ={}, overrides={"database.url": f"sqlite:///{tmp_path / 'cli.db'}"})
    services = build_services(
        settings, clock=SystemClock(), plugins=(EngineTestPlugin(),), load_entry_points=False
    )
    try:
        with LiveServer(services, worker=True) as live:
            yield live
    finally:
        services.close()


@pytest.fixture
def cli(server: LiveServer, tmp_path: Path) -> Cli:
    return Cli(
        {
            "GENNAKER_ENDPOINT": server.url,
            "GENNAKER_CLI_CONFIG": str(tmp_path / "none.yaml"),
            "COLUMNS": "200",
        }
    )
