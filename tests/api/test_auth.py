"""Authentication: API tokens (Bearer) and local users (Basic); the user flows into what they do."""

from __future__ import annotations

import base64
from collections.abc import Callable

from gennaker.authn.passwords import hash_password, verify_password
from gennaker.authn.tokens import TokenRepository
from gennaker.services import Services
from gennaker.testing import run_until_idle
from tests.api.live import SyncClient

MakeApi = Callable[..., tuple[Services, SyncClient]]
USERS = [{"name": "bob", "password_hash": hash_password("s3cret", iterations=1000)}]


def _token(services: Services, user: str) -> tuple[str, str]:
    with services.db.transaction() as conn:
        record, secret = TokenRepository().create(
            conn, user, now_ms=services.clock.now_ms(), description="ci"
        )
    return record.id, secret


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_without_credentials_everything_but_health_is_401(make_api: MakeApi) -> None:
    _, client = make_api(auth__enabled=True, auth__users=USERS)
    assert client.get("/health").status_code == 200
    response = client.get("/applications")
    assert response.status_code == 401
    assert set(response.json()) >= {"timestamp", "status", "error", "message"}
    challenges = response.headers.get_list("www-authenticate")
    assert any(c.startswith("Bearer") for c in challenges) and any(c.startswith("Basic") for c in challenges)
    assert client.get("/openapi.json").status_code == 401
    bad = client.get("/applications", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["message"] == "the API token is unknown or revoked"


def test_a_token_authenticates_and_its_user_becomes_trigger_user(make_api: MakeApi) -> None:
    services, client = make_api(auth__enabled=True)
    token_id, secret = _token(services, "carol")
    headers = {"Authorization": f"Bearer {secret}"}
    created = client.post(
        "/tasks",
        headers=headers,
        json={
            "job": [{"type": "createApplication", "application": {"name": "shop", "email": "a@example.com"}}]
        },
    )
    assert created.status_code == 200
    assert client.get("/applications/shop", headers=headers).json()["attributes"]["lastModifiedBy"] == "carol"
    client.post(
        "/pipelines",
        headers=headers,
        json={
            "application": "shop",
            "name": "p",
            "stages": [{"refId": "1", "type": "scripted", "polls": 1000}],
        },
    )
    ref = client.post("/pipelines/shop/p", headers=headers, json={"user": "mallory"}).json()["ref"]
    execution = client.get(ref, headers=headers).json()
    assert execution["trigger"]["user"] == "carol" and execution["authentication"]["user"] == "carol"
    run_until_idle(services, advance_clock=False)
    client.put(f"{ref}/cancel", headers=headers)
    run_until_idle(services, advance_clock=False)
    assert client.get(ref, headers=headers).json()["canceledBy"] == "carol"

    with services.db.transaction() as conn:
        assert TokenRepository().revoke(conn, token_id, now_ms=1)
    assert client.get("/applications", headers=headers).status_code == 401


def test_basic_auth_against_local_users(make_api: MakeApi) -> None:
    _, client = make_api(auth__enabled=True, auth__users=USERS)
    assert client.get("/applications", headers=_basic("bob", "s3cret")).status_code == 200
    assert client.get("/applications", headers=_basic("bob", "s3cret")).status_code == 200  # cached
    assert client.get("/applications", headers=_basic("bob", "wrong")).status_code == 401
    assert client.get("/applications", headers=_basic("eve", "s3cret")).status_code == 401
    garbage = client.get("/applications", headers={"Authorization": "Basic !!!"})
    assert garbage.status_code == 401


def test_password_hashes() -> None:
    encoded = hash_password("pw", iterations=1000)
    assert encoded.startswith("pbkdf2_sha256$1000$")
    assert verify_password("pw", encoded) and not verify_password("px", encoded)
    assert not verify_password("pw", "md5$nope")


def test_incoming_webhooks_are_open_unless_configured_otherwise(make_api: MakeApi) -> None:
    _, client = make_api(auth__enabled=True, auth__users=USERS)
    open_hook = client.post("/webhooks/webhook/ci", json={"ref": "main"})
    assert open_hook.status_code == 200, open_hook.text
    assert client.get("/webhooks/preconfigured").status_code == 401
    assert client.post("/pipelines/shop/deploy", json={}).status_code == 401
    _, closed = make_api(auth__enabled=True, auth__users=USERS, auth__webhooks_require_auth=True)
    assert closed.post("/webhooks/webhook/ci", json={"ref": "main"}).status_code == 401
    assert closed.post("/webhooks/webhook/ci", json={}, headers=_basic("bob", "s3cret")).status_code == 200
