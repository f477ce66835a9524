"""ApplicationRepository contract, run against a real SQLite file and a real PostgreSQL schema."""

from __future__ import annotations

from typing import Any

import pytest

from gennaker.clock import FrozenClock
from gennaker.db import Database
from gennaker.errors import Conflict, FieldError, InvalidInput, NotFound
from gennaker.store.applications import ApplicationRepository, as_gate_application, cloud_providers
from gennaker.store.pipelines import STRATEGY, PipelineConfigRepository

Json = dict[str, Any]


@pytest.fixture
def apps(clock: FrozenClock) -> ApplicationRepository:
    return ApplicationRepository(clock)


def create(db: Database, apps: ApplicationRepository, body: Json, user: str | None = None) -> Json:
    with db.transaction() as conn:
        return apps.create(conn, body, user=user)


def get(db: Database, apps: ApplicationRepository, name: str) -> Json:
    with db.read() as conn:
        return apps.get(conn, name)


def everything(db: Database, apps: ApplicationRepository) -> list[Json]:
    with db.read() as conn:
        return apps.list(conn)


SHOP: Json = {
    "name": "Shop",
    "email": "team@example.com",
    "description": "the shop",
    "cloudProviders": "kubernetes,aws",
    "instancePort": 8080,
    "trafficGuards": [{"account": "prod", "location": "us-east-1", "stack": "*", "enabled": True}],
    "permissions": {"READ": ["eng"], "WRITE": ["eng-admins"], "EXECUTE": ["eng"]},
    "repoType": "github",
    "repoProjectKey": "acme",
    "repoSlug": "shop",
    "dataSources": {"enabled": ["serverGroups", "executions"], "disabled": []},
    "user": "alice",
    "someFutureSpinnakerField": {"nested": [1, 2.5, None, "x"]},
}


def test_create_returns_front50_json_with_every_attribute_kept(
    db: Database, apps: ApplicationRepository, clock: FrozenClock
) -> None:
    created = create(db, apps, SHOP, user="alice")
    now = str(clock.now_ms())
    expected = {**SHOP, "name": "shop", "createTs": now, "updateTs": now, "lastModifiedBy": "alice"}
    assert created == expected
    stored = get(db, apps, "shop")
    assert stored == expected
    assert list(stored) == list(expected)  # key order kept


def test_names_are_found_in_any_case_and_stored_lower_case(db: Database, apps: ApplicationRepository) -> None:
    create(db, apps, {"name": "  MyApp ", "email": "a@b.c"})
    assert get(db, apps, "MYAPP")["name"] == "myapp"
    with db.read() as conn:
        assert apps.exists(conn, "myApp")
        assert apps.find(conn, "other") is None


def test_cloud_providers_keep_the_form_given(db: Database, apps: ApplicationRepository) -> None:
    create(db, apps, {"name": "a", "email": "x@y", "cloudProviders": ["kubernetes", "aws"]})
    create(db, apps, {"name": "b", "email": "x@y", "cloudProviders": "kubernetes,aws"})
    assert get(db, apps, "a")["cloudProviders"] == ["kubernetes", "aws"]
    assert get(db, apps, "b")["cloudProviders"] == "kubernetes,aws"
    assert cloud_providers(get(db, apps, "a")) == cloud_providers(get(db, apps, "b")) == ["kubernetes", "aws"]


def test_timestamps_and_author_given_by_the_client_are_replaced(
    db: Database, apps: ApplicationRepository, clock: FrozenClock
) -> None:
    created = create(
        db, apps, {"name": "a", "email": "x@y", "createTs": "1", "updateTs": "2", "lastModifiedBy": "z"}
    )
    now = str(clock.now_ms())
    assert (created["createTs"], created["updateTs"], created["lastModifiedBy"]) == (now, now, "anonymous")


def test_creating_an_existing_name_in_any_case_is_a_conflict(
    db: Database, apps: ApplicationRepository
) -> None:
    create(db, apps, SHOP)
    before = everything(db, apps)
    with pytest.raises(Conflict, match="application shop already exists"):
        create(db, apps, {"name": "SHOP", "email": "other@example.com"})
    assert everything(db, apps) == before


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"email": "a@b"}, [FieldError("$.name", "Application must have a non-empty name")]),
        ({"name": "  ", "email": "a@b"}, [FieldError("$.name", "Application must have a non-empty name")]),
        # Item 14 of issue #10: a number is not "empty"; say what to write instead.
        (
            {"name": 7, "email": "a@b"},
            [FieldError("$.name", 'must be a string: write the name in quotes ("7")')],
        ),
        ({"name": ["shop"], "email": "a@b"}, [FieldError("$.name", "must be a string")]),
        (
            {"name": "a/b", "email": "a@b"},
            [
                FieldError(
                    "$.name",
                    "invalid application name 'a/b': use only letters, digits, '-', '_' and '.' "
                    "(Frigga's naming rules; not only dots)",
                )
            ],
        ),
        (
            {"name": "..", "email": "a@b"},
            [
                FieldError(
                    "$.name",
                    "invalid application name '..': use only letters, digits, '-', '_' and '.' "
                    "(Frigga's naming rules; not only dots)",
                )
            ],
        ),
        ({"name": "x" * 256, "email": "a@b"}, [FieldError("$.name", "must be at most 255 characters")]),
        ({"name": "shop"}, [FieldError("$.email", "Application must have a non-empty email")]),
        ({"name": "shop", "email": " "}, [FieldError("$.email", "Application must have a non-empty email")]),
        (
            {"name": "shop", "email": "a@b", "cloudProviders": 3},
            [FieldError("$.cloudProviders", "must be a comma-separated string or a list of strings")],
        ),
        (
            {"name": "", "cloudProviders": [1]},
            [
                FieldError("$.name", "Application must have a non-empty name"),
                FieldError("$.email", "Application must have a non-empty email"),
                FieldError("$.cloudProviders", "must be a comma-separated string or a list of strings"),
            ],
        ),
    ],
)
def test_invalid_applications_are_rejected_naming_each_field(
    db: Database, apps: ApplicationRepository, body: Json, errors: list[FieldError]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        create(db, apps, body)
    assert list(caught.value.errors) == errors
    assert everything(db, apps) == []


@pytest.mark.parametrize(
    ("name", "providers", "ok"),
    [
        # Orca's ApplicationNameValidator rules, one per provider the application lists.
        ("my-app", "kubernetes", True),
        ("my_app", "kubernetes", False),
        ("1app", "kubernetes", False),
        ("a" * 63, "kubernetes", True),
        ("a" * 64, "kubernetes", False),
        ("my-app", "aws", False),
        ("my_app.v2", "aws", True),
        ("myapp", "gce", True),
        ("my-app", "gce", False),
        ("MyApp", "appengine", False),
        ("my_app", "kubernetes,aws", False),
        ("my-app", ["kubernetes", "aws"], False),
        # Providers without rules, and no providers at all, need Frigga's characters only
        # (item 14 of issue #10: "a/b" was accepted and could then not be read or deleted).
        ("my-app_1.x", "", True),
        ("my-app_1.x", "someprovider", True),
        ("my app!", "", False),
        ("a/b", "", False),
    ],
)
def test_names_follow_orcas_cloud_provider_rules(
    db: Database, apps: ApplicationRepository, name: str, providers: object, ok: bool
) -> None:
    body = {"name": name, "email": "a@b", "cloudProviders": providers}
    if ok:
        assert create(db, apps, body)["name"] == name.lower()
        return
    with pytest.raises(InvalidInput) as caught:
        create(db, apps, body)
    assert {e.path for e in caught.value.errors} == {"$.name"}
    expected = "for cloud provider" if providers else "use only letters, digits"
    assert expected in caught.value.errors[-1].message
    assert everything(db, apps) == []


def test_front50s_optional_name_regex(db: Database, clock: FrozenClock) -> None:
    strict = ApplicationRepository(clock, name_pattern=r"[a-zA-Z0-9.\-_]*")
    with pytest.raises(InvalidInput) as caught:
        create(db, strict, {"name": "invalid!name", "email": "a@b"})
    assert caught.value.errors[-1] == FieldError(
        "$.name", r"Application name doesn't satisfy the validation regex: [a-zA-Z0-9.\-_]*"
    )
    worded = ApplicationRepository(clock, name_pattern="strictname", name_message="use strictname")
    with pytest.raises(InvalidInput, match="use strictname"):
        create(db, worded, {"name": "other", "email": "a@b"})
    assert create(db, strict, {"name": "valid-1_name", "email": "a@b"})["name"] == "valid-1_name"


def test_update_merges_attributes_like_front50_patch(
    db: Database, apps: ApplicationRepository, clock: FrozenClock
) -> None:
    created = create(db, apps, SHOP, user="alice")
    clock.advance(seconds=5)
    with db.transaction() as conn:
        updated = apps.update(
            conn,
            "SHOP",
            {
                "name": "shop",
                "description": None,  # null keeps description, email and cloudProviders
                "email": None,
                "instancePort": 9090,
                "repoSlug": None,  # other attributes take the null
                "newThing": True,
                "createTs": "1",
            },
            user="bob",
        )
    assert updated == {
        **SHOP,
        "name": "shop",
        "instancePort": 9090,
        "repoSlug": None,
        "createTs": created["createTs"],
        "updateTs": str(clock.now_ms()),
        "lastModifiedBy": "bob",
        "newThing": True,
    }
    assert get(db, apps, "shop") == updated


def test_update_of_a_missing_application_is_not_found(db: Database, apps: ApplicationRepository) -> None:
    with pytest.raises(NotFound), db.transaction() as conn:
        apps.update(conn, "ghost", {"email": "a@b"})


def test_update_with_another_name_or_bad_values_changes_nothing(
    db: Database, apps: ApplicationRepository
) -> None:
    create(db, apps, SHOP)
    before = get(db, apps, "shop")
    with pytest.raises(InvalidInput) as caught, db.transaction() as conn:
        apps.update(conn, "shop", {"name": "other", "email": "x@y"})
    assert caught.value.errors[0].path == "$.name"
    with pytest.raises(InvalidInput) as caught, db.transaction() as conn:
        apps.update(conn, "shop", {"email": "", "cloudProviders": "gce", "description": "changed"})
    # The merged application is validated: "shop" is fine for gce, an empty email is not.
    assert [e.path for e in caught.value.errors] == ["$.email"]
    with pytest.raises(InvalidInput) as caught, db.transaction() as conn:
        apps.update(conn, "shop", ["not", "an", "object"])  # type: ignore[arg-type]
    assert caught.value.errors == (FieldError("$", "an application must be a JSON object"),)
    assert get(db, apps, "shop") == before


def test_replace_drops_what_is_not_given_but_keeps_create_ts(
    db: Database, apps: ApplicationRepository, clock: FrozenClock
) -> None:
    created = create(db, apps, SHOP)
    clock.advance(ms=1)
    with db.transaction() as conn:
        replaced = apps.replace(conn, "shop", {"name": "Shop", "email": "new@example.com"}, user="carol")
    assert replaced == {
        "name": "shop",
        "email": "new@example.com",
        "createTs": created["createTs"],
        "updateTs": str(clock.now_ms()),
        "lastModifiedBy": "carol",
    }
    assert get(db, apps, "shop") == replaced


def test_upsert_creates_then_merges(db: Database, apps: ApplicationRepository, clock: FrozenClock) -> None:
    with db.transaction() as conn:
        first = apps.upsert(conn, {"name": "svc", "email": "a@b", "description": "one"})
    clock.advance(ms=10)
    with db.transaction() as conn:
        second = apps.upsert(conn, {"name": "SVC", "instancePort": 80})
    assert second["description"] == "one" and second["instancePort"] == 80 and second["email"] == "a@b"
    assert second["createTs"] == first["createTs"] != second["updateTs"]


def test_list_is_ordered_by_name_and_filters_like_gate(db: Database, apps: ApplicationRepository) -> None:
    create(db, apps, {"name": "zeta", "email": "Team@Example.com", "accounts": "prod,staging"})
    create(db, apps, {"name": "alpha", "email": "other@example.com", "accounts": ["Prod"]})
    create(db, apps, {"name": "mid", "email": "team@example.com"})
    with db.read() as conn:
        assert [a["name"] for a in apps.list(conn)] == ["alpha", "mid", "zeta"]
        assert [a["name"] for a in apps.list(conn, owner="TEAM@example.com")] == ["mid", "zeta"]
        assert [a["name"] for a in apps.list(conn, account="prod")] == ["alpha", "zeta"]
        assert [a["name"] for a in apps.list(conn, account="STAGING", owner="team@example.com")] == ["zeta"]
        assert apps.list(conn, account="nowhere") == []


def test_delete_removes_the_application_with_its_pipelines_and_strategies(
    db: Database, apps: ApplicationRepository, clock: FrozenClock
) -> None:
    pipelines = PipelineConfigRepository(clock)
    strategies = PipelineConfigRepository(clock, kind=STRATEGY)
    create(db, apps, SHOP)
    create(db, apps, {"name": "other", "email": "a@b"})
    with db.transaction() as conn:
        mine = pipelines.save(conn, {"application": "shop", "name": "deploy", "stages": []})
        strategy = strategies.save(conn, {"application": "SHOP", "name": "rolling", "stages": []})
        kept = pipelines.save(conn, {"application": "other", "name": "deploy", "stages": []})
    with db.transaction() as conn:
        assert apps.delete(conn, "Shop") is True
        assert apps.delete(conn, "shop") is False
    with db.read() as conn:
        assert apps.find(conn, "shop") is None
        assert pipelines.find(conn, mine["id"]) is None
        assert pipelines.history(conn, mine["id"]) == []
        assert strategies.find(conn, strategy["id"]) is None
        assert pipelines.get(conn, kept["id"]) == kept
        assert [a["name"] for a in apps.list(conn)] == ["other"]


def test_get_of_a_missing_application_is_not_found(db: Database, apps: ApplicationRepository) -> None:
    with pytest.raises(NotFound, match="Application not found"):
        get(db, apps, "ghost")


def test_gate_shape_wraps_the_attributes() -> None:
    app = {"name": "shop", "email": "a@b", "description": None, "createTs": "1"}
    assert as_gate_application(app) == {
        "name": "shop",
        "attributes": {"name": "shop", "email": "a@b", "createTs": "1"},
        "clusters": {},
    }
