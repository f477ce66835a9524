"""Gate's endpoints about the caller (api/routes/auth.py): ``GET /auth/user`` as Deck reads it,
Fiat's ``/authorize/{user}`` view, ``POST /login`` / ``POST /logout`` (a revoked session is
refused at once) and ``/auth/loggedOut``."""

from __future__ import annotations

from collections.abc import Callable

from gennaker.api import create_app
from gennaker.testing import make_services
from tests.api.live import SyncClient
from tests.authz.conftest import PASSWORD, World, seed

MakeWorld = Callable[..., World]


def test_auth_user_names_the_user_roles_and_allowed_accounts(make_world: MakeWorld) -> None:
    world = make_world()
    me = world.as_("deployer", "GET", "/auth/user").json()
    assert me["username"] == "deployer" and me["authenticated"] is True
    assert me["roles"] == ["deployers", "runners", "viewers"]
    assert me["allowedAccounts"] == ["local", "prod"]
    assert world.as_("root", "GET", "/auth/user").json()["admin"] is True


def test_auth_user_with_authentication_off_is_anonymous() -> None:
    services = make_services("memory://")
    client = SyncClient(create_app(services))
    try:
        me = client.get("/auth/user").json()
        assert me["username"] == "anonymous" and me["authenticated"] is False
        assert me["allowedAccounts"] == ["local"]
    finally:
        client.close()
        services.close()


def test_the_authorize_view_lists_what_a_user_may_do_to_themselves_and_admins(make_world: MakeWorld) -> None:
    world = make_world()
    seed(world)
    view = world.as_("runner", "GET", "/authorize/runner").json()
    assert view["name"] == "runner" and view["admin"] is False
    assert {"name": "shop", "authorizations": ["READ", "EXECUTE"]} in view["applications"]
    assert {"name": "open", "authorizations": ["READ", "WRITE", "EXECUTE", "CREATE"]} in view["applications"]
    assert {"name": "prod", "authorizations": ["READ"]} in view["accounts"]
    assert {s["name"] for s in view["serviceAccounts"]} == {"ci-bot", "weak-bot"}
    assert [s["name"] for s in world.as_("reader", "GET", "/authorize/reader").json()["serviceAccounts"]] == [
        "weak-bot"
    ]
    assert world.as_("runner", "GET", "/authorize/root").status_code == 403
    assert world.as_("root", "GET", "/authorize/runner").json()["name"] == "runner"


def test_login_starts_a_session_and_logout_revokes_it_at_once(make_world: MakeWorld) -> None:
    world = make_world()
    client = world.client
    wrong = client.post("/login", data={"username": "reader", "password": "nope"})
    assert wrong.status_code == 401
    signed_in = client.post("/login", data={"username": "reader", "password": PASSWORD})
    assert signed_in.status_code == 200 and signed_in.json()["roles"] == ["viewers"]
    assert client.get("/auth/user").json()["username"] == "reader"
    assert client.post("/logout", headers={"x-gennaker-ui": "1"}).status_code == 204
    client._client.cookies.clear()
    session = signed_in.cookies["gennaker_session"]
    replay = client.get("/auth/user", headers={"cookie": f"gennaker_session={session}"})
    assert replay.status_code == 401
    assert client.get("/auth/loggedOut").status_code == 200
