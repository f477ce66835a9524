"""Fixtures for trigger tests: services on each database backend (with the engine's scripted test
stages), pipelines saved through the real repository, and the webhook/event routes over HTTP."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import anyio.from_thread
import httpx
import pytest
from fastapi import FastAPI

from gennaker.model.execution import Execution
from gennaker.services import Services
from gennaker.store.executions import ExecutionQuery
from gennaker.testing import make_services
from tests.engine.fakes import EngineTestPlugin

MakeServices = Callable[..., Services]


@pytest.fixture
def make(database_url: str) -> Iterator[MakeServices]:
    """Services on the test database (each backend in turn); ``make(**settings)``."""
    created: list[Services] = []

    def factory(**settings: Any) -> Services:
        services = make_services(database_url, plugins=(EngineTestPlugin(),), **settings)
        created.append(services)
        return services

    yield factory
    for services in created:
        services.close()


@pytest.fixture
def services(make: MakeServices) -> Services:
    return make()


@pytest.fixture
def sqlite_services(sqlite_url: str) -> Iterator[Services]:
    """Services on a SQLite file only (for tests whose subject is not the database)."""
    services = make_services(sqlite_url, plugins=(EngineTestPlugin(),))
    yield services
    services.close()


def save_pipeline(services: Services, **body: Any) -> dict[str, Any]:
    """Save a pipeline config (one quick stage unless given) and return the stored body."""
    config = {
        "application": "shop",
        "name": "deploy",
        "stages": [{"refId": "1", "type": "noop", "name": "quick"}],
        **body,
    }
    with services.db.transaction() as conn:
        return services.pipelines.save(conn, config, user="tester")


def executions_of(services: Services, config_id: str) -> list[Execution]:
    """Every execution of a pipeline config, newest first."""
    with services.db.read() as conn:
        return services.executions.search(conn, ExecutionQuery(pipeline_config_ids=[config_id], limit=1000))


def app_for(services: Services) -> FastAPI:
    """The API app (Gate's routes, with the webhook and event routes among them)."""
    from gennaker.api.app import create_app

    return create_app(services)


class TestClient:
    __test__ = False

    """httpx over the ASGI app, called synchronously (Starlette's TestClient warns about httpx)."""

    def __init__(self, app: FastAPI) -> None:
        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://localhost")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(functools.partial(self._client.request, method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._portal_cm.__exit__(None, None, None)


@pytest.fixture
def client_for() -> Iterator[Callable[[Services], TestClient]]:
    clients: list[TestClient] = []

    def factory(services: Services) -> TestClient:
        client = TestClient(app_for(services))
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()
