"""Executions run as someone: automated triggers as their ``runAsUser`` service account, whose
roles must hold EXECUTE on the application; saving a trigger that names a service account needs
every role of it (Fiat's rule); ``authentication.allowedAccounts`` as Orca fills it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from gennaker import events
from gennaker.clock import FrozenClock
from gennaker.triggers.scheduler import run_once_sync
from tests.authz.conftest import World, seed
from tests.triggers.conftest import executions_of

MakeWorld = Callable[..., World]
T0 = int(datetime(2024, 1, 1, 10, 0, 30, tzinfo=UTC).timestamp() * 1000)


def _cron(run_as: str | None) -> dict[str, object]:
    trigger: dict[str, object] = {
        "type": "cron",
        "enabled": True,
        "cronExpression": "0 * * * * ?",
        "cronTimeZone": "UTC",
    }
    if run_as:
        trigger["runAsUser"] = run_as
    return trigger


def _save(world: World, run_as: str | None, user: str = "root") -> dict[str, object]:
    response = world.as_(
        user,
        "POST",
        "/pipelines",
        json={
            "application": "shop",
            "name": f"nightly-{run_as}",
            "stages": [{"refId": "1", "type": "noop"}],
            "triggers": [_cron(run_as)],
        },
    )
    assert response.status_code == 200, response.text
    saved: dict[str, object] = response.json()
    return saved


def _tick(world: World) -> None:
    clock = world.services.clock
    assert isinstance(clock, FrozenClock)
    clock.set(T0)
    run_once_sync(world.services)
    clock.set(T0 + 30_000)
    run_once_sync(world.services)


def test_a_cron_trigger_whose_service_account_lacks_execute_does_not_start_and_says_why(
    make_world: MakeWorld,
) -> None:
    world = make_world()
    seed(world)
    weak = _save(world, "weak-bot")
    strong = _save(world, "ci-bot")
    nobody = _save(world, None)
    _tick(world)
    assert executions_of(world.services, str(weak["id"])) == []
    assert executions_of(world.services, str(nobody["id"])) == []
    [ran] = executions_of(world.services, str(strong["id"]))
    assert ran.trigger["user"] == "ci-bot" and ran.authentication is not None
    assert ran.authentication["user"] == "ci-bot"
    with world.services.db.read() as conn:
        rejected = events.list_events(conn, events.EventQuery(types=(events.TRIGGER_REJECTED,)))
    reasons = {r.body["pipelineConfigId"]: r.body["reason"] for r in rejected}
    assert "service account 'weak-bot' may not run it" in reasons[str(weak["id"])]
    assert "EXECUTE permission on application 'shop'" in reasons[str(weak["id"])]
    assert "names no runAsUser service account" in reasons[str(nobody["id"])]


def test_an_open_application_runs_automated_triggers_without_a_service_account(make_world: MakeWorld) -> None:
    world = make_world()
    seed(world)
    response = world.as_(
        "outsider",
        "POST",
        "/pipelines",
        json={
            "application": "open",
            "name": "nightly",
            "stages": [{"refId": "1", "type": "noop"}],
            "triggers": [_cron(None)],
        },
    )
    assert response.status_code == 200
    _tick(world)
    assert len(executions_of(world.services, str(response.json()["id"]))) == 1


def test_saving_a_trigger_with_a_service_account_needs_every_role_of_it(make_world: MakeWorld) -> None:
    world = make_world()
    seed(world)
    refused = world.as_(
        "writer",
        "POST",
        "/pipelines",
        json={"application": "shop", "name": "n", "stages": [], "triggers": [_cron("ci-bot")]},
    )
    assert refused.status_code == 403
    assert (
        "service account 'ci-bot'" in refused.json()["message"]
        and "missing runners" in refused.json()["message"]
    )
    assert [c["name"] for c in world.as_("root", "GET", "/applications/shop/pipelineConfigs").json()] == [
        "shop-release"
    ]
    unknown = world.as_(
        "root",
        "POST",
        "/pipelines",
        json={"application": "shop", "name": "n", "stages": [], "triggers": [_cron("ghost")]},
    )
    assert unknown.status_code == 403 and "no such service account" in unknown.json()["message"]
    assert (
        world.as_(
            "writer",
            "POST",
            "/pipelines",
            json={"application": "shop", "name": "n", "stages": [], "triggers": [_cron("weak-bot")]},
        ).status_code
        == 200
    )


def test_allowed_accounts_are_the_accounts_the_user_may_write(make_world: MakeWorld) -> None:
    world = make_world()
    seed(world)
    for user, expected in (("runner", ["local"]), ("deployer", ["local", "prod"])):
        ref = world.as_(user, "POST", "/pipelines/shop/shop-release", json={}).json()["ref"]
        execution = world.as_(user, "GET", ref).json()
        assert execution["authentication"] == {"user": user, "allowedAccounts": expected}
        me = world.as_(user, "GET", "/auth/user").json()
        assert me["username"] == user and me["allowedAccounts"] == expected
