"""The cloud stages reach providers through their port, which the composition root provides; a
process without it fails the stage with a message instead of an AttributeError."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gennaker.stages.cloud.port import HasCloudDriver
from gennaker.stages.cloud.support import BadStage, clouddriver
from gennaker.testing import make_services


def test_services_provide_the_cloud_port(tmp_path: Path) -> None:
    services = make_services(f"sqlite:///{tmp_path / 'db.sqlite'}", data_dir=str(tmp_path / "data"))
    try:
        assert isinstance(services, HasCloudDriver)
        run: Any = SimpleNamespace(services=services)
        assert clouddriver(run) is services.clouddriver
        assert services.clouddriver.registry.has("local")
    finally:
        services.close()


def test_services_without_providers_fail_with_a_message() -> None:
    run: Any = SimpleNamespace(services=SimpleNamespace(settings=None))
    with pytest.raises(BadStage, match="no cloud providers"):
        clouddriver(run)
