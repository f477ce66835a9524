"""OpenID Connect sign-in against a real provider implementation running locally: panva's
``oidc-provider`` (npm, OpenID Certified), started by the test with Node.js on 127.0.0.1 with
its development sign-in screens, which the test fills in as a browser would. The authorization
code flow with PKCE; the roles come from the ``groups`` claim."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlparse

import httpx
import pytest

from tests.authz.conftest import World, seed

MakeWorld = Callable[..., World]
PROVIDER_DIR = Path(__file__).parent / "oidc_provider"
CLIENT_ID = "gennaker"
CLIENT_SECRET = "client-secret-for-tests"
REDIRECT = "http://localhost/login/oidc/callback"


@dataclass
class Provider:
    issuer: str
    process: subprocess.Popen[str]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def provider() -> Iterator[Provider]:
    node = shutil.which("node")
    if node is None:
        _unavailable("Node.js is not installed (make test installs it)")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        _unavailable("oidc-provider is not installed (make test runs npm ci in tests/authz/oidc_provider)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "PORT": str(port),
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URI": REDIRECT,
        "ACCOUNTS": json.dumps({"alice": {"groups": ["Runners", "viewers"]}, "mallory": {"groups": []}}),
    }
    assert node is not None
    process = subprocess.Popen(
        [node, "server.js"],
        cwd=PROVIDER_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("listening "):
            break
    else:
        process.wait()
        raise RuntimeError("oidc-provider did not start:\n" + "".join(lines))
    try:
        yield Provider(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()


def _browser_sign_in(authorize_url: str, login: str) -> str:
    """Follow the provider's screens as a browser: sign in as ``login``, consent; return the
    redirect back to Gennaker."""
    url = authorize_url
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        for _ in range(12):
            response = browser.get(url)
            if response.status_code in (302, 303):
                location = urljoin(url, response.headers["location"])
                if location.startswith(REDIRECT):
                    return location
                url = location
                continue
            assert response.status_code == 200, response.text[:500]
            action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
            assert action, response.text[:500]
            target = urljoin(url, action.group(1))
            form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', response.text))
            if 'name="login"' in response.text:
                form.update(login=login, password="any")
            posted = browser.post(target, data=form)
            assert posted.status_code in (302, 303), posted.text[:500]
            location = urljoin(target, posted.headers["location"])
            if location.startswith(REDIRECT):
                return location
            url = location
    raise AssertionError("the provider never sent the browser back")


def _world(make_world: MakeWorld, provider: Provider) -> World:
    return make_world(
        authz={
            "admin_roles": ["admins"],
            "oidc": {
                "issuer": provider.issuer,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "scopes": ["openid", "profile", "groups"],
                "roles_claim": "groups",
                "redirect_url": REDIRECT,
            },
        }
    )


def test_sign_in_with_the_code_flow_and_pkce_brings_roles_from_the_claim(
    make_world: MakeWorld, provider: Provider
) -> None:
    world = _world(make_world, provider)
    seed(world)
    begin = world.client.get("/login/oidc", params={"next": "/auth/user"})
    assert begin.status_code == 303
    authorize = begin.headers["location"]
    assert authorize.startswith(provider.issuer + "/auth?")
    assert "code_challenge_method=S256" in authorize and "code_challenge=" in authorize
    back = urlparse(_browser_sign_in(authorize, "alice"))
    done = world.client.get(f"{back.path}?{back.query}")
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/auth/user"
    me = world.client.get("/auth/user")  # the session cookie set by the callback
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "alice" and me.json()["roles"] == ["runners", "viewers"]
    started = world.client.post("/pipelines/shop/shop-release", json={}, headers={"x-gennaker-ui": "1"})
    assert started.status_code == 202, started.text


def test_a_user_whose_claim_names_no_roles_gets_none(make_world: MakeWorld, provider: Provider) -> None:
    world = _world(make_world, provider)
    seed(world)
    begin = world.client.get("/login/oidc")
    back = urlparse(_browser_sign_in(begin.headers["location"], "mallory"))
    assert world.client.get(f"{back.path}?{back.query}").status_code == 303
    assert world.client.get("/auth/user").json()["roles"] == []
    assert world.client.get("/applications/shop").status_code == 403


def test_a_callback_with_a_forged_state_or_code_is_refused(make_world: MakeWorld, provider: Provider) -> None:
    world = _world(make_world, provider)
    begin = world.client.get("/login/oidc")
    assert begin.status_code == 303
    forged = world.client.get("/login/oidc/callback", params={"code": "x", "state": "not-mine"})
    assert forged.status_code == 401 and "state does not match" in forged.json()["message"]
    state = re.search(r"state=([^&]+)", begin.headers["location"])
    assert state
    bad_code = world.client.get("/login/oidc/callback", params={"code": "made-up", "state": state.group(1)})
    assert bad_code.status_code == 401 and "token endpoint refused the code" in bad_code.json()["message"]
    assert world.client.get("/auth/user").status_code == 401


def test_the_ui_login_page_offers_the_provider(make_world: MakeWorld, provider: Provider) -> None:
    world = _world(make_world, provider)
    page = world.client.get("/ui/login", params={"next": "/ui/applications/shop/executions"})
    assert 'href="/login/oidc?next=/ui/applications/shop/executions"' in page.text
    assert "/login/oidc" not in make_world().client.get("/ui/login").text
