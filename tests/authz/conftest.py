"""A Gennaker with authentication and authorization on: local users with roles, service accounts,
an application restricted to roles, one open to everyone, and an account restricted to deployers."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gennaker.api import create_app
from gennaker.authn.passwords import hash_password
from gennaker.services import Services
from gennaker.testing import make_services
from tests.api.live import SyncClient
from tests.engine.fakes import EngineTestPlugin

PASSWORD = "pw"
USERS = {
    "root": ["admins"],
    "reader": ["viewers"],
    "writer": ["viewers", "writers"],
    "runner": ["viewers", "runners"],
    "deployer": ["viewers", "runners", "deployers"],
    "outsider": ["strangers"],
}
SERVICE_ACCOUNTS = [
    {"name": "ci-bot", "member_of": ["runners"]},
    {"name": "weak-bot", "member_of": ["viewers"]},
]
SHOP_PERMISSIONS = {"READ": ["viewers"], "WRITE": ["writers"], "EXECUTE": ["runners"]}
PROD_PERMISSIONS = {"READ": ["viewers"], "WRITE": ["deployers"]}


def basic(user: str) -> dict[str, str]:
    """HTTP Basic headers of a test user."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()}


@dataclass
class World:
    """The services, a client, and shortcuts that act as a user."""

    services: Services
    client: SyncClient

    def as_(self, user: str, method: str, url: str, **kwargs: Any) -> Any:
        headers = {**basic(user), **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def execution_count(self) -> int:
        with self.services.db.read() as conn:
            import sqlalchemy as sa

            from gennaker.store.schema import executions

            return int(conn.execute(sa.select(sa.func.count()).select_from(executions)).scalar() or 0)


def settings_for(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    """Settings of the test world (``extra`` overrides)."""
    hashed = hash_password(PASSWORD, iterations=1000)
    base: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "auth__enabled": True,
        "auth__users": [{"name": n, "password_hash": hashed, "roles": r} for n, r in USERS.items()],
        "auth__service_accounts": SERVICE_ACCOUNTS,
        "authz": {"admin_roles": ["admins"]},
        "providers": {
            "local": {
                "accounts": [
                    {"name": "local", "port_range": [21000, 21099]},
                    {"name": "prod", "permissions": PROD_PERMISSIONS, "port_range": [21100, 21199]},
                ]
            }
        },
    }
    base.update(extra)
    return base


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[Callable[..., World]]:
    made: list[World] = []

    def factory(database_url: str | None = None, **extra: Any) -> World:
        services = make_services(
            database_url or f"sqlite:///{tmp_path / 'gennaker.db'}",
            plugins=(EngineTestPlugin(),),
            **settings_for(tmp_path, **extra),
        )
        world = World(services, SyncClient(create_app(services)))
        made.append(world)
        return world

    yield factory
    for world in made:
        world.client.close()
        world.services.close()


def seed(world: World) -> dict[str, str]:
    """Applications ``shop`` (restricted) and ``open`` (no permissions), each with a pipeline and one
    finished execution; returns their ids."""
    ids: dict[str, str] = {}
    for name, permissions in (("shop", SHOP_PERMISSIONS), ("open", None)):
        body: dict[str, Any] = {"name": name, "email": f"{name}-team@example.com"}
        if permissions:
            body["permissions"] = permissions
        assert world.as_("root", "POST", "/applications", json=body).status_code == 200
        saved = world.as_(
            "root",
            "POST",
            "/pipelines",
            json={
                "application": name,
                "name": f"{name}-release",
                "stages": [{"refId": "1", "type": "noop", "name": "Noop"}],
            },
        )
        assert saved.status_code == 200, saved.text
        ids[f"{name}_config"] = saved.json()["id"]
        started = world.as_("root", "POST", f"/pipelines/{name}/{name}-release", json={})
        assert started.status_code == 202, started.text
        ids[f"{name}_execution"] = started.json()["ref"].rsplit("/", 1)[1]
    return ids
