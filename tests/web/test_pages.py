"""The UI's pages over the ASGI app (no browser): routing, what a page says without JavaScript,
errors as pages, and signing in (cookie sessions, CSRF header, logout revokes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gennaker.api import create_app
from gennaker.authn.passwords import hash_password
from gennaker.authn.tokens import TokenRepository
from gennaker.services import Services
from gennaker.testing import make_services, run_until_idle
from tests.api.live import SyncClient

MakeUi = Callable[..., tuple[Services, SyncClient]]
HTML = {"Accept": "text/html"}
PIPELINE: dict[str, Any] = {
    "application": "shop",
    "name": "deploy",
    "stages": [
        {"refId": "1", "type": "wait", "name": "Soak", "waitTime": 5},
        {
            "refId": "2",
            "requisiteStageRefIds": ["1"],
            "type": "fail",
            "name": "Break",
            "message": "no <b>luck</b>",
        },
    ],
    "finally": [{"refId": "f1", "type": "wait", "name": "Tidy", "waitTime": 0}],
}


@pytest.fixture
def make_ui(sqlite_url: str) -> Iterator[MakeUi]:
    made: list[tuple[Services, SyncClient]] = []

    def factory(**settings: Any) -> tuple[Services, SyncClient]:
        services = make_services(sqlite_url, **settings)
        client = SyncClient(create_app(services))
        made.append((services, client))
        return services, client

    yield factory
    for services, client in made:
        client.close()
        services.close()


def _shop(client: SyncClient, headers: dict[str, str] | None = None) -> str:
    assert client.post(
        "/applications", json={"name": "shop", "email": "t@example.com"}, headers=headers
    ).is_success
    saved = client.post("/pipelines", json=PIPELINE, headers=headers)
    assert saved.status_code == 200, saved.text
    started = client.post("/pipelines/shop/deploy", json={"parameters": {"env": "prod"}}, headers=headers)
    return str(started.json()["ref"]).rsplit("/", 1)[1]


def test_root_redirects_and_static_files_are_served(make_ui: MakeUi) -> None:
    _, client = make_ui()
    assert client.get("/").headers["location"] == "/ui/"
    css = client.get("/ui/static/gennaker.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "immutable" in css.headers["cache-control"]
    assert client.get("/ui/static/..%2Fpages%2Fexecution.py").status_code == 404
    assert client.get("/ui/static/nope.js").status_code == 404
    page = client.get("/ui/")
    assert page.status_code == 200 and "No applications yet" in page.text


def test_pages_read_without_javascript(make_ui: MakeUi) -> None:
    services, client = make_ui()
    execution_id = _shop(client)
    run_until_idle(services)
    listing = client.get("/ui/applications/shop/executions").text
    assert 'title="Soak: succeeded"' in listing and 'title="Break: terminal"' in listing
    assert 'title="Tidy: succeeded (finally)"' in listing and "env=prod" in listing
    page = client.get(f"/ui/applications/shop/executions/{execution_id}").text
    # Status in words, the failure in plain words (escaped), the finally block apart.
    assert 'data-execution-status="TERMINAL"' in page and "terminal" in page
    assert "Why it failed" in page and "no &lt;b&gt;luck&lt;/b&gt;" in page
    assert "finally" in page and 'data-ref-id="f1"' in page
    assert (
        client.get("/ui/applications/shop/executions?status=RUNNING").text.count('li class="execution"') == 0
    )
    assert "No pipelines match" in client.get("/ui/applications/shop/executions?q=zzz").text


def test_unknown_things_are_pages_not_tracebacks(make_ui: MakeUi) -> None:
    _, client = make_ui()
    for path in (
        "/ui/applications/nope/executions",
        "/ui/applications/nope/executions/01H00000000000000000000000",
        "/ui/applications/nope/pipelines/xyz/edit",
        "/ui/applications/nope/pipelines/xyz/history",
        "/ui/applications/nope/config",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "<h1>Not found</h1>" in response.text


def test_history_diff_between_revisions(make_ui: MakeUi) -> None:
    _, client = make_ui()
    assert client.post("/applications", json={"name": "shop", "email": "t@example.com"}).is_success
    saved = client.post("/pipelines", json=PIPELINE)
    assert saved.status_code == 200, saved.text
    config = saved.json()
    config["stages"][0]["waitTime"] = 9
    client.post("/pipelines", json=config)
    page = client.get(f"/ui/applications/shop/pipelines/{config['id']}/history").text
    assert "revision 1 → revision 2" in page.replace("Revision", "revision")
    assert '<tr class="replace">' in page and "&#34;waitTime&#34;: 9" in page


USERS = [{"name": "alice", "password_hash": hash_password("s3cret", iterations=1000)}]


def test_sign_in_sets_a_cookie_that_needs_the_ui_header_for_changes(make_ui: MakeUi) -> None:
    services, client = make_ui(auth__enabled=True, auth__users=USERS)
    # A browser is sent to the login page; the API still answers 401.
    to_login = client.get("/ui/applications/shop/executions", headers=HTML)
    assert to_login.status_code == 303
    assert to_login.headers["location"] == "/ui/login?next=%2Fui%2Fapplications%2Fshop%2Fexecutions"
    assert client.get("/applications").status_code == 401
    assert client.get("/ui/login").status_code == 200
    assert client.get("/ui/static/gennaker.js").status_code == 200

    refused = client.post("/ui/login", content="username=alice&password=nope")
    assert refused.status_code == 401 and "Wrong user name or password." in refused.text
    signed = client.post("/ui/login", content="username=alice&password=s3cret&next=https://evil.example/")
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/"
    set_cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie
    secret = signed.cookies["gennaker_session"]
    cookie = {"Cookie": f"gennaker_session={secret}"}

    assert "Signed in as <strong>alice</strong>" in client.get("/ui/", headers=cookie).text
    # Without the UI's header a cookie-signed change is refused (what a cross-site form would send).
    forged = client.post("/applications", json={"name": "shop", "email": "t@example.com"}, headers=cookie)
    assert forged.status_code == 401 and "x-gennaker-ui" in forged.json()["message"]
    made = client.post(
        "/applications",
        json={"name": "shop", "email": "t@example.com"},
        headers={**cookie, "X-Gennaker-UI": "1"},
    )
    assert made.status_code == 200 and made.json()["lastModifiedBy"] == "alice"

    assert client.post("/ui/logout", headers={**cookie, "X-Gennaker-UI": "1"}).status_code == 204
    assert client.get("/applications", headers=cookie).status_code == 401
    with services.db.read() as conn:
        tokens = TokenRepository().list(conn)
    assert [(t.user, t.description, t.active) for t in tokens] == [("alice", "web session", False)]


def test_the_sign_in_form_spends_the_same_failed_sign_ins_as_the_api(make_ui: MakeUi) -> None:
    """Wrong passwords typed into the form count against the user name's and the address's
    allowance as HTTP Basic's do, in both directions; once spent, the form is refused (429, with
    Retry-After) without the password being checked, even a right one, until the window moves on."""
    import base64

    from gennaker.clock import FrozenClock

    services, client = make_ui(
        auth__enabled=True,
        auth__users=USERS,
        auth__login_failures_per_user=3,
        auth__login_failures_per_address=100,
        auth__login_failure_window_seconds=60,
        clock=FrozenClock(1_700_000_000_000),
    )
    basic = {"Authorization": "Basic " + base64.b64encode(b"alice:wrong").decode()}
    for _ in range(2):
        assert client.post("/ui/login", content="username=alice&password=nope").status_code == 401
    assert client.get("/applications", headers=basic).status_code == 401  # the third failure
    refused = client.post("/ui/login", content="username=alice&password=s3cret")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
    assert "Too many failed sign-ins for user &#39;alice&#39;; try again in 60 seconds." in refused.text
    assert "gennaker_session" not in refused.cookies
    # The API sees the same record.
    assert client.get("/applications", headers=basic).status_code == 429
    services.clock.advance(seconds=61)  # type: ignore[attr-defined]
    signed = client.post("/ui/login", content="username=alice&password=s3cret")
    assert signed.status_code == 303 and signed.cookies["gennaker_session"]
    # And failures typed into the form throttle HTTP Basic.
    for _ in range(3):
        assert client.post("/ui/login", content="username=alice&password=nope").status_code == 401
    good = {"Authorization": "Basic " + base64.b64encode(b"alice:s3cret").decode()}
    assert client.get("/applications", headers=good).status_code == 429


def test_sign_in_with_an_api_token(make_ui: MakeUi) -> None:
    services, client = make_ui(auth__enabled=True)
    with services.db.transaction() as conn:
        _, secret = TokenRepository().create(conn, "ci", now_ms=services.clock.now_ms(), description="ci")
    assert client.post("/ui/login", content="token=nope").status_code == 401
    signed = client.post("/ui/login", content=f"token={secret}&next=/ui/applications/new")
    assert signed.headers["location"] == "/ui/applications/new"
    assert signed.cookies["gennaker_session"] == secret
    # Signing out forgets the cookie but does not revoke a token someone made on purpose.
    client.post("/ui/logout", headers={"Cookie": f"gennaker_session={secret}", "X-Gennaker-UI": "1"})
    assert client.get("/applications", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_without_auth_the_login_page_goes_to_the_ui(make_ui: MakeUi) -> None:
    _, client = make_ui()
    assert client.get("/ui/login?next=/ui/applications/new").headers["location"] == "/ui/applications/new"


def test_long_unchanged_stretches_are_folded() -> None:
    from gennaker.web.pages.editor import folded, side_by_side

    old = "\n".join(f"line {i}" for i in range(40))
    new = old.replace("line 20", "line twenty")
    lines = folded(side_by_side(old, new))
    assert [line.kind for line in lines] == ["skip"] + ["equal"] * 3 + ["replace"] + ["equal"] * 3 + ["skip"]
    assert lines[0].left == "17 unchanged lines" and lines[-1].left == "16 unchanged lines"


def test_failed_expressions_are_listed_in_the_stage_panel(make_ui: MakeUi) -> None:
    services, client = make_ui()
    assert client.post("/applications", json={"name": "shop", "email": "t@example.com"}).is_success
    config = {
        "application": "shop",
        "name": "exprs",
        "stages": [{"refId": "1", "type": "wait", "name": "W", "waitTime": 0, "note": "${#nope('a')}"}],
    }
    assert client.post("/pipelines", json=config).status_code == 200
    execution_id = client.post("/pipelines/shop/exprs", json={}).json()["ref"].rsplit("/", 1)[1]
    run_until_idle(services)
    page = client.get(f"/ui/applications/shop/executions/{execution_id}").text
    assert "Expressions that failed" in page and "<code>#nope(&#39;a&#39;)</code>" in page
    assert "Function &#39;nope&#39; could not be found" in page
    assert "Problems reported" in page and "Why it failed" not in page
