"""Roles and sign-in from a real OpenLDAP ``slapd`` (Debian's package) that the test starts on
127.0.0.1 with its own config and database: group membership becomes roles, a role removed in the
directory is gone within the cache TTL, a refused bind or a directory that is down fails sign-in
with a clear message and breaks nothing else, and /health says when last known roles are in use."""

from __future__ import annotations

import base64
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gennaker.clock import FrozenClock
from tests.authz.conftest import World, seed
from tests.authz.slapd import Slapd, ldap_settings, make_certificates, start_slapd

MakeWorld = Callable[..., World]


@pytest.fixture
def slapd(tmp_path: Path) -> Iterator[Slapd]:
    server = start_slapd(tmp_path / "slapd")
    server.add_user("alice", "alice-pw")
    server.add_user("bob", "bob-pw")
    server.add_group("viewers", ["alice", "bob"])
    server.add_group("runners", ["alice", "bob"])
    try:
        yield server
    finally:
        server.stop()


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _world(make_world: MakeWorld, slapd: Slapd, **ldap: object) -> World:
    return make_world(
        authz={
            "admin_roles": ["admins"],
            "role_cache_ttl_seconds": 30,
            "stale_roles_max_seconds": 300,
            "ldap": ldap_settings(slapd, **ldap),
        }
    )


def test_users_sign_in_against_the_directory_and_get_its_groups_as_roles(
    make_world: MakeWorld, slapd: Slapd
) -> None:
    world = _world(make_world, slapd)
    seed(world)
    me = world.client.get("/auth/user", headers=_basic("alice", "alice-pw"))
    assert me.status_code == 200, me.text
    assert me.json()["roles"] == ["runners", "viewers"]
    started = world.client.post("/pipelines/shop/shop-release", json={}, headers=_basic("alice", "alice-pw"))
    assert started.status_code == 202
    view = world.client.get("/authorize/alice", headers=_basic("alice", "alice-pw")).json()
    assert {"name": "shop", "authorizations": ["READ", "EXECUTE"]} in view["applications"]
    assert {r["source"] for r in view["roles"]} == {"ldap"}


def test_a_refused_bind_fails_sign_in_clearly(make_world: MakeWorld, slapd: Slapd) -> None:
    world = _world(make_world, slapd)
    wrong = world.client.get("/auth/user", headers=_basic("alice", "nope"))
    assert wrong.status_code == 401 and wrong.json()["message"] == "wrong user name or password"
    form = world.client.post("/login", json={"username": "alice", "password": "nope"})
    assert form.status_code == 401
    ok = world.client.post("/login", json={"username": "alice", "password": "alice-pw"})
    assert ok.status_code == 200 and ok.json()["username"] == "alice"
    assert "gennaker_session" in ok.headers.get("set-cookie", "")


def test_a_manager_bind_that_is_refused_is_a_clear_sign_in_failure(
    make_world: MakeWorld, slapd: Slapd
) -> None:
    world = _world(
        make_world,
        slapd,
        bind_password="wrong",
        user_dn_pattern="",
        user_search_base="ou=people,dc=example,dc=org",
    )
    response = world.client.get("/auth/user", headers=_basic("alice", "alice-pw"))
    assert response.status_code == 401
    assert "sign-in through LDAP is not possible now" in response.json()["message"]
    assert "refused the bind" in response.json()["message"]
    # local users still sign in
    assert world.as_("root", "GET", "/auth/user").status_code == 200


def test_a_role_removed_in_the_directory_is_gone_within_the_ttl(make_world: MakeWorld, slapd: Slapd) -> None:
    world = _world(make_world, slapd)
    seed(world)
    headers = _basic("bob", "bob-pw")
    assert world.client.post("/pipelines/shop/shop-release", json={}, headers=headers).status_code == 202
    slapd.remove_member("runners", "bob")
    clock = world.services.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(ms=31_000)
    refused = world.client.post("/pipelines/shop/shop-release", json={}, headers=headers)
    assert refused.status_code == 403
    assert world.client.get("/auth/user", headers=headers).json()["roles"] == ["viewers"]


def test_a_directory_that_is_down_keeps_last_known_roles_for_a_bounded_time_and_says_so(
    make_world: MakeWorld, slapd: Slapd
) -> None:
    world = _world(make_world, slapd)
    seed(world)
    headers = _basic("alice", "alice-pw")
    assert world.client.get("/auth/user", headers=headers).json()["roles"] == ["runners", "viewers"]
    assert world.client.get("/health").json()["authz"]["roleProviders"]["ldap"]["status"] == "UP"
    slapd.stop()
    clock = world.services.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(ms=31_000)
    # Basic credentials verified within the last minute are remembered; the roles are last known ones
    me = world.client.get("/auth/user", headers=headers)
    assert me.json()["roles"] == ["runners", "viewers"]
    health = world.client.get("/health", headers=headers).json()
    ldap = health["authz"]["roleProviders"]["ldap"]
    assert ldap["status"] == "DOWN" and ldap["usersOnLastKnownRoles"] == 1 and "unreachable" in ldap["error"]
    anonymous = world.client.get("/health").json()["authz"]["roleProviders"]["ldap"]
    assert anonymous == {"status": "DOWN"}  # where the directory is stays with signed-in callers
    # a new sign-in cannot be checked: a clear message; local users are not affected
    new = world.client.get("/auth/user", headers=_basic("bob", "bob-pw"))
    assert new.status_code == 401 and "sign-in through LDAP is not possible now" in new.json()["message"]
    assert world.as_("reader", "GET", "/applications/shop").status_code == 200
    # past the bound the last known roles no longer count
    clock.advance(ms=300_000)
    assert world.client.get("/auth/user", headers=headers).status_code in (200, 401)
    assert world.services.authz.principal("alice") is not None
    assert world.services.authz.principal("alice").roles == frozenset()  # type: ignore[union-attr]


def test_start_tls_verifies_the_directory_against_the_configured_ca(
    make_world: MakeWorld, tmp_path: Path
) -> None:
    ca, cert, key = make_certificates(tmp_path / "tls")
    server = start_slapd(tmp_path / "tls-slapd", tls=(ca, cert, key))
    try:
        server.add_user("alice", "alice-pw")
        server.add_user("bob", "bob-pw")
        server.add_group("viewers", ["alice", "bob"])
        trusted = _world(make_world, server, start_tls=True, ca_file=str(ca))
        me = trusted.client.get("/auth/user", headers=_basic("alice", "alice-pw"))
        assert me.status_code == 200, me.text
        assert me.json()["roles"] == ["viewers"]
        other_ca, _, _ = make_certificates(tmp_path / "other")
        untrusted = _world(make_world, server, start_tls=True, ca_file=str(other_ca))
        refused = untrusted.client.get("/auth/user", headers=_basic("bob", "bob-pw"))
        assert refused.status_code == 401
        assert "sign-in through LDAP is not possible now" in refused.json()["message"]
    finally:
        server.stop()


def test_a_directory_that_never_answers_times_out_into_a_clear_sign_in_failure(make_world: MakeWorld) -> None:
    """A TCP listener that accepts and never speaks LDAP (a hung directory)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        world = make_world(
            authz={
                "ldap": {
                    "url": f"ldap://127.0.0.1:{port}",
                    "user_dn_pattern": "uid={0},ou=people,dc=example,dc=org",
                    "group_search_base": "ou=groups,dc=example,dc=org",
                    "timeout_seconds": 1,
                }
            }
        )
        response = world.client.get("/auth/user", headers=_basic("alice", "alice-pw"))
        assert response.status_code == 401
        message = response.json()["message"]
        assert "sign-in through LDAP is not possible now" in message
        assert world.as_("reader", "GET", "/auth/user").status_code == 200
    finally:
        listener.close()
