"""``gennaker canary`` against the API served on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gennaker.clock import SystemClock
from gennaker.config import load_settings
from gennaker.services import build_services
from tests.api.live import LiveServer
from tests.canary.conftest import MemorySources, config, request
from tests.canary.test_api import fill
from tests.cli.conftest import Cli


@pytest.fixture
def live(tmp_path: Path, series: Any) -> Iterator[LiveServer]:
    settings = load_settings(environ={}, overrides={"database.url": f"sqlite:///{tmp_path / 'cli.db'}"})
    services = build_services(
        settings, clock=SystemClock(), plugins=(MemorySources(series),), load_entry_points=False
    )
    try:
        with LiveServer(services) as server:
            yield server
    finally:
        services.close()


def test_configs_and_judgments(live: LiveServer, tmp_path: Path, series: dict[Any, Any]) -> None:
    cli = Cli(
        {"GENNAKER_ENDPOINT": live.url, "GENNAKER_CLI_CONFIG": str(tmp_path / "none.yaml"), "COLUMNS": "220"}
    )
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config()))
    saved = cli("canary", "config", "save", "-f", str(path))
    assert saved.exit_code == 0, saved.output
    config_id = saved.stdout.split(": ")[1].strip()
    listed = cli("canary", "config", "list", "-a", "shop")
    assert "shop-golden" in listed.stdout
    as_rows = json.loads(cli("canary", "config", "list", "-a", "shop", "-o", "json").stdout)
    assert [c["id"] for c in as_rows] == [config_id]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(config(name="bad name")))
    refused = cli("canary", "config", "save", "-f", str(bad))
    assert refused.exit_code == 1
    assert "$.name" in refused.output

    fill(series, bad=True)
    started = httpx.post(f"{live.url}/canary/{config_id}", params={"application": "shop"}, json=request())
    execution_id = started.json()["canaryExecutionId"]
    shown = cli("canary", "judgment", "show", execution_id)
    assert shown.exit_code == 0, shown.output
    assert "shop-golden: score 40.0 (Fail)" in shown.stdout
    assert "errors was classified as High" in shown.stdout
    assert "(n=60)" in shown.stdout
    listing = json.loads(cli("canary", "judgment", "list", "-a", "shop", "-o", "json").stdout)
    assert [run["pipelineId"] for run in listing] == [execution_id]
    as_json = json.loads(cli("canary", "judgment", "show", execution_id, "-o", "json").stdout)
    assert as_json["pipelineId"] == execution_id
