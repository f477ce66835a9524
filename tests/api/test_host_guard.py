"""The DNS-rebinding guard (item 7 of issue #10): with authentication off, only requests addressed
to a loopback name or a configured host are served."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gennaker.services import Services
from tests.api.live import SyncClient

MakeApi = Callable[..., tuple[Services, SyncClient]]


@pytest.mark.parametrize(
    "host", ["attacker.example", "attacker.example:8084", "10.0.0.5", "127.0.0.1.nip.io"]
)
def test_a_foreign_host_is_refused_with_auth_off(make_api: MakeApi, host: str) -> None:
    """A page that rebinds its name to 127.0.0.1 sends its own name as Host: refused, nothing done."""
    _, client = make_api()
    response = client.post(
        "/applications", json={"name": "shop", "email": "a@example.com"}, headers={"host": host}
    )
    assert response.status_code == 421
    assert "DNS rebinding" in response.json()["message"] and "allowed_hosts" in response.json()["message"]
    assert client.get("/applications").json() == []


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8084", "127.0.0.1:8084", "127.9.9.9", "[::1]:8084", "app.localhost"]
)
def test_loopback_names_are_served(make_api: MakeApi, host: str) -> None:
    _, client = make_api()
    assert client.get("/health", headers={"host": host}).status_code == 200


def test_configured_names_are_served(make_api: MakeApi) -> None:
    _, client = make_api(
        server__allowed_hosts="gennaker.internal, ci.example", server__public_url="https://cd.example.com/ui/"
    )
    for host in ("gennaker.internal", "CI.example:8084", "cd.example.com"):
        assert client.get("/health", headers={"host": host}).status_code == 200, host
    assert client.get("/health", headers={"host": "other.example"}).status_code == 421


def test_with_auth_on_credentials_do_the_job(make_api: MakeApi) -> None:
    _, client = make_api(auth__enabled=True)
    assert client.get("/health", headers={"host": "cd.example.com"}).status_code == 200
