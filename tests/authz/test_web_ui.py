"""The web UI shows only what the user may READ and hides the actions they may not take (the API
refuses them either way)."""

from __future__ import annotations

from collections.abc import Callable

from tests.authz.conftest import World, seed

MakeWorld = Callable[..., World]
HTML = {"Accept": "text/html"}


def test_the_application_list_leaves_out_what_the_user_may_not_read(make_world: MakeWorld) -> None:
    world = make_world()
    seed(world)
    outsider = world.as_("outsider", "GET", "/ui/", headers=HTML).text
    assert "/ui/applications/open/" in outsider and "/ui/applications/shop/" not in outsider
    reader = world.as_("reader", "GET", "/ui/", headers=HTML).text
    assert "/ui/applications/shop/" in reader
    assert world.as_("outsider", "GET", "/ui/applications/shop/executions", headers=HTML).status_code == 403


def test_actions_show_only_for_users_who_may_take_them(make_world: MakeWorld) -> None:
    world = make_world()
    ids = seed(world)
    page = "/ui/applications/shop/executions"
    assert "Start manual execution" not in world.as_("reader", "GET", page, headers=HTML).text
    assert "Create pipeline" not in world.as_("reader", "GET", page, headers=HTML).text
    assert "Start manual execution" in world.as_("runner", "GET", page, headers=HTML).text
    assert "Create pipeline" in world.as_("writer", "GET", page, headers=HTML).text
    editor = f"/ui/applications/shop/pipelines/{ids['shop_config']}/edit"
    assert "data-editor-save" not in world.as_("reader", "GET", editor, headers=HTML).text
    assert "Saving needs WRITE permission on shop" in world.as_("reader", "GET", editor, headers=HTML).text
    assert "data-editor-save" in world.as_("writer", "GET", editor, headers=HTML).text
    form = "/ui/applications/shop/config"
    assert "data-delete-application" not in world.as_("reader", "GET", form, headers=HTML).text
    assert "data-delete-application" in world.as_("writer", "GET", form, headers=HTML).text
