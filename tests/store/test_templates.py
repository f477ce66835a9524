"""PipelineTemplateRepository contract, run against a real SQLite file and a real PostgreSQL schema."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest
import sqlalchemy as sa

from gennaker.clock import FrozenClock
from gennaker.db import Database
from gennaker.errors import Conflict, FieldError, InvalidInput, NotFound
from gennaker.store import json as jsonlib
from gennaker.store.pipelines import PipelineConfigRepository
from gennaker.store.schema import pipeline_templates
from gennaker.store.templates import PipelineTemplateRepository, parse_reference, template_digest

Json = dict[str, Any]

TEMPLATE: Json = {
    "schema": "v2",
    "id": "deploy-template",
    "protect": False,
    "metadata": {
        "name": "Deploy to Kubernetes",
        "description": "Bake-free deploy with a manual gate",
        "owner": "platform@example.com",
        "scopes": ["global", "shop"],
    },
    "variables": [
        {"name": "namespace", "type": "string", "description": "target namespace", "defaultValue": "default"},
        {"name": "replicas", "type": "int", "defaultValue": 2},
        {"name": "waitTime", "type": "int", "defaultValue": 30, "example": "60"},
    ],
    "pipeline": {
        "lastModifiedBy": "anonymous",
        "keepWaitingPipelines": False,
        "limitConcurrent": True,
        "parameterConfig": [],
        "stages": [
            {
                "refId": "deploy",
                "requisiteStageRefIds": [],
                "type": "deployManifest",
                "name": "Deploy",
                "account": "k8s",
                "namespaceOverride": "${ templateVariables.namespace }",
                "manifests": [
                    {"kind": "Deployment", "spec": {"replicas": "${ templateVariables.replicas }"}}
                ],
            },
            {
                "refId": "wait",
                "requisiteStageRefIds": ["deploy"],
                "type": "wait",
                "name": "Soak",
                "waitTime": "${ templateVariables.waitTime }",
            },
        ],
        "triggers": [],
    },
    "x-unknown": {"kept": [1, None, "two"]},
}


@pytest.fixture
def repo(clock: FrozenClock) -> PipelineTemplateRepository:
    return PipelineTemplateRepository(clock)


def save(db: Database, repo: PipelineTemplateRepository, template: Any, **kwargs: Any) -> Json:
    with db.transaction() as conn:
        return repo.save(conn, copy.deepcopy(template), **kwargs)


def rows(db: Database) -> list[tuple[str, str, str, str]]:
    """Every stored row: what a failed write must leave untouched."""
    t = pipeline_templates
    with db.read() as conn:
        query = sa.select(t.c.id, t.c.tag, t.c.digest, t.c.body).order_by(t.c.id, t.c.tag)
        return [(r.id, r.tag, r.digest, r.body) for r in conn.execute(query)]


def changed(template: Json, description: str) -> Json:
    out = copy.deepcopy(template)
    out["metadata"]["description"] = description
    return out


def test_the_digest_is_front50s_sorted_whitespace_free_sha256() -> None:
    template = {
        "schema": "v2",
        "id": "t",
        "metadata": {"scopes": ["global"], "name": "My T"},
        "updateTs": "1",
    }
    # Front50's computeSHA256Digest: tag set to "latest", accounting removed, keys sorted, all
    # whitespace removed (even inside strings), UTF-8.
    canonical = '{"id":"t","metadata":{"name":"MyT","scopes":["global"]},"schema":"v2","tag":"latest"}'
    assert template_digest(template) == hashlib.sha256(canonical.encode()).hexdigest()
    assert template_digest(
        {**template, "tag": "stable", "lastModifiedBy": "x", "digest": "d"}
    ) == template_digest(template)


def test_save_stores_under_latest_and_the_digest(
    db: Database, repo: PipelineTemplateRepository, clock: FrozenClock
) -> None:
    saved = save(db, repo, TEMPLATE, user="alice")
    digest = template_digest(TEMPLATE)
    body = {**TEMPLATE, "updateTs": str(clock.now_ms()), "lastModifiedBy": "alice"}
    assert saved == {**body, "tag": "latest", "digest": digest}
    with db.read() as conn:
        latest = repo.get(conn, "deploy-template")
        assert jsonlib.dumps(latest) == jsonlib.dumps(body)  # key order kept at every level
        assert repo.get(conn, "deploy-template", tag="latest") == body
        assert repo.get(conn, "deploy-template", digest=digest) == body
        assert repo.get(conn, "deploy-template", digest=f"sha256:{digest}") == body
        assert repo.resolve(conn, f"spinnaker://deploy-template@sha256:{digest}") == body
        assert repo.resolve(conn, "spinnaker://deploy-template") == body
        assert repo.resolve(conn, "deploy-template:latest") == body
    assert [(r[1], r[2]) for r in rows(db)] == sorted([("latest", digest), (digest, digest)])


def test_any_tag_also_moves_latest_and_old_digests_keep_resolving(
    db: Database, repo: PipelineTemplateRepository, clock: FrozenClock
) -> None:
    first = save(db, repo, TEMPLATE, tag="stable")
    clock.advance(seconds=1)
    second = save(db, repo, changed(TEMPLATE, "v2 of it"), tag="unstable")
    assert first["digest"] != second["digest"]
    with db.read() as conn:
        assert (
            repo.get(conn, "deploy-template", tag="stable")["metadata"]["description"]
            == TEMPLATE["metadata"]["description"]
        )
        assert repo.get(conn, "deploy-template", tag="unstable")["metadata"]["description"] == "v2 of it"
        assert repo.get(conn, "deploy-template")["metadata"]["description"] == "v2 of it"
        old = repo.resolve(conn, f"spinnaker://deploy-template@sha256:{first['digest']}")
        assert old == {k: v for k, v in first.items() if k not in ("tag", "digest")}


def test_saving_the_same_content_again_keeps_the_digest_row(
    db: Database, repo: PipelineTemplateRepository, clock: FrozenClock
) -> None:
    first = save(db, repo, TEMPLATE, user="alice")
    clock.advance(seconds=1)
    again = save(db, repo, TEMPLATE, user="bob")
    assert again["digest"] == first["digest"]
    with db.read() as conn:
        pinned = repo.get(conn, "deploy-template", digest=first["digest"])
        assert pinned["lastModifiedBy"] == "alice"  # written once, never changed
        assert repo.get(conn, "deploy-template")["lastModifiedBy"] == "bob"


def test_the_tag_may_come_from_the_body(db: Database, repo: PipelineTemplateRepository) -> None:
    saved = save(db, repo, {**TEMPLATE, "tag": "canary"})
    assert saved["tag"] == "canary"
    with db.read() as conn:
        assert "tag" not in repo.get(conn, "deploy-template", tag="canary")


def test_create_only_refuses_an_existing_tag(db: Database, repo: PipelineTemplateRepository) -> None:
    save(db, repo, TEMPLATE, tag="stable", create_only=True)
    before = rows(db)
    with pytest.raises(Conflict, match="deploy-template:stable already exists"):
        save(db, repo, changed(TEMPLATE, "other"), tag="stable", create_only=True)
    assert rows(db) == before
    save(db, repo, changed(TEMPLATE, "other"), tag="test", create_only=True)


@pytest.mark.parametrize(
    ("template", "tag", "errors"),
    [
        (["not", "an", "object"], None, [FieldError("$", "a pipeline template must be a JSON object")]),
        ({**TEMPLATE, "schema": "v1"}, None, [FieldError("$.schema", 'must be "v2"')]),
        (
            {k: v for k, v in TEMPLATE.items() if k != "id"},
            None,
            [FieldError("$.id", "is required (a non-empty string)")],
        ),
        (
            {**TEMPLATE, "id": "a:b"},
            None,
            [FieldError("$.id", "must not contain ':' or '@' (they introduce a tag or a digest)")],
        ),
        ({**TEMPLATE, "id": "t" * 256}, None, [FieldError("$.id", "must be at most 255 characters")]),
        ({**TEMPLATE, "metadata": "x"}, None, [FieldError("$.metadata", "must be an object")]),
        (
            {**TEMPLATE, "metadata": {"scopes": "global"}},
            None,
            [FieldError("$.metadata.scopes", "must be a list of strings")],
        ),
        (
            {**TEMPLATE, "pipeline": []},
            None,
            [FieldError("$.pipeline", "must be an object (a pipeline config)")],
        ),
        ({**TEMPLATE, "variables": {"a": 1}}, None, [FieldError("$.variables", "must be a list")]),
        (
            {**TEMPLATE, "variables": [{"name": "ok"}, {"name": "not-ok"}, "x", {"type": "int"}]},
            None,
            [
                FieldError("$.variables[1].name", "must match ^[a-zA-Z0-9_]+$"),
                FieldError("$.variables[2]", "must be an object"),
                FieldError("$.variables[3].name", "must match ^[a-zA-Z0-9_]+$"),
            ],
        ),
        (
            {**TEMPLATE, "variables": [{"name": "a"}, {"name": "a", "type": "number"}]},
            None,
            [
                FieldError("$.variables[1].name", "duplicate variable 'a' (also at $.variables[0])"),
                FieldError("$.variables[1].type", "must be one of int, float, bool, string, list, object"),
            ],
        ),
        (
            TEMPLATE,
            "prod",
            [
                FieldError(
                    "tag",
                    "'prod' is not supported; a tag must be one of latest, stable, unstable, experimental, test, canary",
                )
            ],
        ),
        (
            {"id": "", "tag": "nope"},
            None,
            [
                FieldError("$.schema", 'must be "v2"'),
                FieldError("$.id", "is required (a non-empty string)"),
                FieldError(
                    "tag",
                    "'nope' is not supported; a tag must be one of latest, stable, unstable, experimental, test, canary",
                ),
            ],
        ),
    ],
)
def test_invalid_templates_are_rejected_and_nothing_is_written(
    db: Database, repo: PipelineTemplateRepository, template: Any, tag: str | None, errors: list[FieldError]
) -> None:
    save(db, repo, {**TEMPLATE, "id": "existing"})
    before = rows(db)
    with pytest.raises(InvalidInput) as caught:
        save(db, repo, template, tag=tag)
    assert list(caught.value.errors) == errors
    assert rows(db) == before


def test_lookups_that_find_nothing_or_ask_for_both(db: Database, repo: PipelineTemplateRepository) -> None:
    save(db, repo, TEMPLATE)
    with db.read() as conn:
        with pytest.raises(NotFound, match="deploy-template:stable"):
            repo.get(conn, "deploy-template", tag="stable")
        with pytest.raises(NotFound, match="ghost:latest"):
            repo.get(conn, "ghost")
        with pytest.raises(NotFound, match="@sha256:"):
            repo.get(conn, "deploy-template", digest="0" * 64)
        with pytest.raises(InvalidInput, match="simultaneously"):
            repo.get(conn, "deploy-template", tag="latest", digest="0" * 64)
        with pytest.raises(InvalidInput) as caught:
            repo.get(conn, "deploy-template", digest="abc")
        assert caught.value.errors == (FieldError("digest", "must be 64 lower-case hex digits (sha256)"),)


def test_parse_reference() -> None:
    assert parse_reference("spinnaker://t") == ("t", None, None)
    assert parse_reference("spinnaker://t:stable") == ("t", "stable", None)
    assert parse_reference("spinnaker://t@sha256:abc") == ("t", None, "abc")
    assert parse_reference("t@abc") == ("t", None, "abc")


def test_list_and_versions_filter_by_scope(db: Database, repo: PipelineTemplateRepository) -> None:
    a = save(db, repo, TEMPLATE, tag="stable")
    other = {**TEMPLATE, "id": "aaa-other", "metadata": {"name": "other", "scopes": ["team-.*"]}}
    b = save(db, repo, other)
    save(db, repo, {**TEMPLATE, "id": "no-scopes", "metadata": {"name": "n"}})
    with db.read() as conn:
        listed = repo.list(conn)
        assert [(t["id"], t["tag"]) for t in listed] == [
            ("aaa-other", "latest"),
            ("deploy-template", "latest"),
            ("deploy-template", "stable"),
            ("no-scopes", "latest"),
        ]
        assert listed[2] == a
        # Equal ignoring case, or a full regex match against the template's scope.
        assert [t["id"] for t in repo.list(conn, scopes=["SHOP"])] == ["deploy-template", "deploy-template"]
        assert [t["id"] for t in repo.list(conn, scopes=["team-payments"])] == ["aaa-other"]
        assert [t["id"] for t in repo.list(conn, scopes=["team"])] == []
        versions = repo.versions(conn, scopes=["global", "team-x"])
        assert list(versions) == ["aaa-other", "deploy-template"]
        assert versions["aaa-other"] == [b, {k: v for k, v in b.items() if k != "tag"}]
        assert [(v.get("tag"), v["digest"]) for v in versions["deploy-template"]] == [
            ("latest", a["digest"]),
            ("stable", a["digest"]),
            (None, a["digest"]),
        ]


def test_delete_one_tag_one_digest_or_everything(db: Database, repo: PipelineTemplateRepository) -> None:
    first = save(db, repo, TEMPLATE, tag="stable")
    second = save(db, repo, changed(TEMPLATE, "newer"))
    save(db, repo, {**TEMPLATE, "id": "keep-me"})
    with db.transaction() as conn:
        assert repo.delete(conn, "deploy-template", tag="stable") is True
        assert repo.delete(conn, "deploy-template", tag="stable") is False
    with db.read() as conn:
        assert repo.get(conn, "deploy-template", digest=first["digest"])["metadata"] == TEMPLATE["metadata"]
    with db.transaction() as conn:
        assert repo.delete(conn, "deploy-template", digest=first["digest"]) is True
    with db.read() as conn:
        with pytest.raises(NotFound):
            repo.get(conn, "deploy-template", digest=first["digest"])
        assert (
            repo.get(conn, "deploy-template", digest=second["digest"])["metadata"]["description"] == "newer"
        )
    with db.transaction() as conn:
        assert repo.delete(conn, "deploy-template") is True
        assert repo.delete(conn, "deploy-template") is False
    assert {r[0] for r in rows(db)} == {"keep-me"}


def test_a_template_in_use_cannot_be_deleted(
    db: Database, repo: PipelineTemplateRepository, clock: FrozenClock
) -> None:
    stable = save(db, repo, TEMPLATE, tag="stable")
    pipelines = PipelineConfigRepository(clock)

    def instance(name: str, reference: str) -> Json:
        return {
            "schema": "v2",
            "type": "templatedPipeline",
            "application": "shop",
            "name": name,
            "template": {"type": "front50/pipelineTemplate", "reference": reference},
        }

    with db.transaction() as conn:
        on_stable = pipelines.save(conn, instance("a", "spinnaker://deploy-template:stable"))
        pinned = pipelines.save(conn, instance("b", f"spinnaker://deploy-template@sha256:{stable['digest']}"))
        pipelines.save(conn, instance("c", "spinnaker://deploy-template-2:stable"))
    before = rows(db)
    with pytest.raises(Conflict) as caught, db.transaction() as conn:
        repo.delete(conn, "deploy-template")
    assert caught.value.message == (
        "The following pipeline configs depend on this template: "
        + ", ".join(sorted([on_stable["id"], pinned["id"]]))
    )
    with pytest.raises(Conflict, match=on_stable["id"]), db.transaction() as conn:
        repo.delete(conn, "deploy-template", tag="stable")
    with pytest.raises(Conflict, match=pinned["id"]), db.transaction() as conn:
        repo.delete(conn, "deploy-template", digest=stable["digest"])
    assert rows(db) == before
    with db.transaction() as conn:
        # Nothing references latest explicitly (or without a tag), so it may go.
        assert repo.dependents(conn, "deploy-template", tag="latest") == []
        assert repo.delete(conn, "deploy-template", tag="latest") is True
