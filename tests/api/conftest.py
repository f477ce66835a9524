from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gennaker.api import create_app
from gennaker.services import Services
from gennaker.testing import make_services
from tests.api.live import SyncClient
from tests.engine.fakes import EngineTestPlugin


@pytest.fixture
def make_api(database_url: str) -> Iterator[Callable[..., tuple[Services, SyncClient]]]:
    """Services on each backend (with the engine tests' scripted stage types) and a client of the app."""
    made: list[tuple[Services, SyncClient]] = []

    def factory(headers: dict[str, str] | None = None, **settings: Any) -> tuple[Services, SyncClient]:
        services = make_services(database_url, plugins=(EngineTestPlugin(),), **settings)
        client = SyncClient(create_app(services), headers=headers)
        made.append((services, client))
        return services, client

    yield factory
    for services, client in made:
        client.close()
        services.close()


@pytest.fixture
def api(make_api: Callable[..., tuple[Services, SyncClient]]) -> tuple[Services, SyncClient]:
    return make_api()


@pytest.fixture
def services(api: tuple[Services, SyncClient]) -> Services:
    return api[0]


@pytest.fixture
def client(api: tuple[Services, SyncClient]) -> SyncClient:
    return api[1]


def create_application(client: SyncClient, name: str = "shop") -> None:
    response = client.post(
        "/tasks",
        json={
            "application": name,
            "description": "create",
            "job": [
                {"type": "createApplication", "application": {"name": name, "email": "team@example.com"}}
            ],
        },
    )
    assert response.status_code == 200, response.text
    assert client.get(response.json()["ref"]).json()["status"] == "SUCCEEDED"


def save_pipeline(client: SyncClient, **config: Any) -> dict[str, Any]:
    body = {
        "application": "shop",
        "name": "deploy",
        "stages": [{"refId": "1", "type": "noop", "name": "Noop"}],
    }
    body.update(config)
    response = client.post("/pipelines", json=body)
    assert response.status_code == 200, response.text
    saved: dict[str, Any] = response.json()
    return saved
