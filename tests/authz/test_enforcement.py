"""Application permissions on the API (issue #16's "Done when", one by one): a READ-only user sees
the application and cannot run it; a user without READ sees it nowhere; a WRITE user saves
pipelines; refusals are 403 naming the permission and the resource, change nothing, and are audited."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from gennaker.testing import run_until_idle
from tests.api.live import LiveServer
from tests.authz.conftest import SHOP_PERMISSIONS, World, basic, seed

MakeWorld = Callable[..., World]


def test_a_read_only_user_sees_the_application_and_cannot_trigger_it(make_world: MakeWorld) -> None:
    world = make_world()
    seed(world)
    assert world.as_("reader", "GET", "/applications/shop").status_code == 200
    assert "shop" in [a["name"] for a in world.as_("reader", "GET", "/applications").json()]
    before = world.execution_count()
    refused = world.as_("reader", "POST", "/pipelines/shop/shop-release", json={})
    assert refused.status_code == 403
    message = refused.json()["message"]
    assert "EXECUTE permission on application 'shop'" in message and "runners" in message
    assert world.execution_count() == before
    assert world.as_("reader", "POST", "/pipelines/v2/shop/shop-release", json={}).status_code == 403
    assert (
        world.as_(
            "reader", "POST", "/pipelines/start", json={"application": "shop", "name": "x", "stages": []}
        ).status_code
        == 403
    )
    assert world.execution_count() == before
    # a runner may
    assert world.as_("runner", "POST", "/pipelines/shop/shop-release", json={}).status_code == 202
    assert world.execution_count() == before + 1


def test_a_user_without_read_sees_the_application_nowhere(make_world: MakeWorld) -> None:
    world = make_world()
    ids = seed(world)
    run_until_idle(world.services)
    apps = [a["name"] for a in world.as_("outsider", "GET", "/applications").json()]
    assert apps == ["open"]
    assert world.as_("outsider", "GET", "/applications/shop").status_code == 403
    assert world.as_("outsider", "GET", f"/pipelines/{ids['shop_execution']}").status_code == 403
    assert world.as_("outsider", "GET", "/applications/shop/pipelineConfigs").status_code == 403
    found = world.as_("outsider", "GET", "/search", params={"q": "s", "allowShortQuery": "true"}).json()[0][
        "results"
    ]
    assert found and all(r.get("application") != "shop" for r in found)
    listed = world.as_(
        "outsider",
        "GET",
        "/executions",
        params={"executionIds": f"{ids['shop_execution']},{ids['open_execution']}"},
    ).json()
    assert [e["id"] for e in listed] == [ids["open_execution"]]
    events = world.as_("outsider", "GET", "/events").json()
    assert events and all(e.get("application") == "open" for e in events)
    # the reader sees both
    assert {a["name"] for a in world.as_("reader", "GET", "/applications").json()} == {"shop", "open"}


def test_the_event_stream_leaves_out_what_the_user_may_not_read(make_world: MakeWorld) -> None:
    world = make_world()
    seed(world)
    with LiveServer(world.services) as server:
        headers = {**basic("outsider"), "Last-Event-ID": "0"}
        seen: list[str] = []
        with httpx.stream("GET", f"{server.url}/events/stream", headers=headers, timeout=10) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("data: "):
                    seen.append(line)
                # the open application's executions are streamed; the events of both apps were
                # written in order, so once the last of them (open's) arrived, shop's would have too
                if any('"open-release"' in s or '"application":"open"' in s for s in seen) and len(seen) >= 2:
                    break
        assert seen
        assert not any('"application":"shop"' in s for s in seen)


def test_a_write_user_saves_pipelines_and_a_reader_cannot(make_world: MakeWorld) -> None:
    world = make_world()
    ids = seed(world)
    config = {"application": "shop", "name": "another", "stages": [{"refId": "1", "type": "noop"}]}
    refused = world.as_("reader", "POST", "/pipelines", json=config)
    assert (
        refused.status_code == 403 and "WRITE permission on application 'shop'" in refused.json()["message"]
    )
    assert world.as_("root", "GET", "/applications/shop/pipelineConfigs").json()[0]["name"] == "shop-release"
    assert len(world.as_("root", "GET", "/applications/shop/pipelineConfigs").json()) == 1
    saved = world.as_("writer", "POST", "/pipelines", json=config)
    assert saved.status_code == 200, saved.text
    # replacing a config of shop from another application's body is WRITE on shop too
    hijack = world.as_(
        "outsider",
        "PUT",
        f"/pipelines/{ids['shop_config']}",
        json={"application": "open", "name": "x", "stages": []},
    )
    assert hijack.status_code == 403
    moved = world.as_(
        "outsider",
        "POST",
        "/pipelines",
        json={"id": ids["shop_config"], "application": "open", "name": "x", "stages": []},
    )
    assert moved.status_code == 403
    assert world.as_("root", "GET", f"/pipelineConfigs/{ids['shop_config']}").json()["application"] == "shop"


def test_admins_bypass_and_unconfigured_applications_are_open_unless_restricted(
    make_world: MakeWorld,
) -> None:
    world = make_world()
    seed(world)
    assert world.as_("outsider", "POST", "/pipelines/open/open-release", json={}).status_code == 202
    assert world.as_("root", "POST", "/pipelines/shop/shop-release", json={}).status_code == 202
    strict = make_world(authz={"admin_roles": ["admins"], "restrict_unconfigured_applications": True})
    refused = strict.as_("outsider", "GET", "/applications/open")
    assert refused.status_code == 403
    assert "restrict_unconfigured_applications" in refused.json()["message"]


def test_execute_falls_back_to_read_when_an_application_lists_no_execute(make_world: MakeWorld) -> None:
    world = make_world()
    seed(world)
    body = {
        "name": "shop",
        "email": "shop-team@example.com",
        "permissions": {"READ": ["viewers"], "WRITE": ["writers"]},
    }
    assert world.as_("root", "POST", "/applications", json=body).status_code == 200
    assert world.as_("reader", "POST", "/pipelines/shop/shop-release", json={}).status_code == 202


def test_operator_actions_need_execute(make_world: MakeWorld) -> None:
    world = make_world()
    seed(world)
    started = world.as_("runner", "POST", "/pipelines/shop/shop-release", json={}).json()["ref"]
    for method, suffix in (("PUT", "/cancel"), ("PUT", "/pause"), ("PUT", "/resume")):
        refused = world.as_("reader", method, started + suffix)
        assert refused.status_code == 403, (suffix, refused.text)
    assert world.as_("reader", "DELETE", started).status_code == 403
    assert world.as_("runner", "PUT", started + "/cancel").status_code == 202


def test_a_permissions_map_with_unknown_actions_or_non_string_roles_is_400_at_the_path(
    make_world: MakeWorld,
) -> None:
    world = make_world()
    bad = world.as_(
        "root",
        "POST",
        "/applications",
        json={"name": "bad", "email": "a@example.com", "permissions": {"READ": ["ok", 7], "DEPLOY": ["x"]}},
    )
    assert bad.status_code == 400
    paths = {e["path"] for e in bad.json()["errors"]}
    assert paths == {"$.permissions.READ[1]", "$.permissions.DEPLOY"}
    assert world.as_("root", "GET", "/applications/bad").status_code == 404


def test_permissions_round_trip_as_front50_stores_them(make_world: MakeWorld) -> None:
    world = make_world()
    seed(world)
    stored = world.as_("root", "GET", "/applications/shop").json()["attributes"]["permissions"]
    assert stored == SHOP_PERMISSIONS


def test_creating_applications_can_be_limited_to_roles(make_world: MakeWorld) -> None:
    world = make_world(authz={"admin_roles": ["admins"], "create_roles": ["writers"]})
    refused = world.as_("reader", "POST", "/applications", json={"name": "new", "email": "a@example.com"})
    assert refused.status_code == 403 and "CREATE" in refused.json()["message"]
    assert (
        world.as_(
            "writer", "POST", "/applications", json={"name": "new", "email": "a@example.com"}
        ).status_code
        == 200
    )


def test_every_refusal_and_every_allowed_change_is_audited(make_world: MakeWorld) -> None:
    world = make_world()
    seed(world)
    world.as_("reader", "POST", "/pipelines/shop/shop-release", json={})
    world.as_("runner", "POST", "/pipelines/shop/shop-release", json={})
    events = world.as_("root", "GET", "/events", params={"type": "authz"}).json()
    denied = [e for e in events if e["decision"] == "denied"]
    allowed = [e for e in events if e["decision"] == "allowed" and e["user"] == "runner"]
    assert denied[0]["user"] == "reader" and denied[0]["roles"] == ["viewers"]
    assert denied[0]["action"] == "EXECUTE" and denied[0]["resource"] == "shop"
    assert denied[0]["request"] == "POST /pipelines/shop/shop-release"
    assert allowed and allowed[0]["action"] == "EXECUTE" and "runners" in allowed[0]["rule"]


def test_with_authentication_off_nothing_is_checked(tmp_path: object) -> None:
    from gennaker.api import create_app
    from gennaker.testing import make_services
    from tests.api.live import SyncClient
    from tests.engine.fakes import EngineTestPlugin

    services = make_services("memory://", plugins=(EngineTestPlugin(),))
    client = SyncClient(create_app(services))
    try:
        body = {"name": "shop", "email": "a@example.com", "permissions": SHOP_PERMISSIONS}
        assert client.post("/applications", json=body).status_code == 200
        client.post(
            "/pipelines",
            json={"application": "shop", "name": "p", "stages": [{"refId": "1", "type": "noop"}]},
        )
        assert client.post("/pipelines/shop/p", json={}).status_code == 202
        assert not services.authz.enabled
    finally:
        client.close()
        services.close()


def test_changes_open_to_every_signed_in_user_are_audited_too(make_world: MakeWorld) -> None:
    world = make_world()
    created = world.as_(
        "outsider", "POST", "/projects", json={"name": "platform", "email": "p@example.com", "config": {}}
    )
    assert created.status_code == 200, created.text
    events = world.as_("root", "GET", "/events", params={"type": "authz"}).json()
    assert any(
        e["user"] == "outsider" and e["request"] == "POST /projects" and e["decision"] == "allowed"
        for e in events
    )
