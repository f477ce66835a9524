"""PipelineConfigRepository contract, run against a real SQLite file and a real PostgreSQL schema."""

from __future__ import annotations

import copy
import threading
import time
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from gennaker.clock import FrozenClock
from gennaker.db import Database
from gennaker.errors import Conflict, FieldError, InvalidInput, NotFound
from gennaker.store import json as jsonlib
from gennaker.store.pipelines import STRATEGY, PipelineConfigRepository

Json = dict[str, Any]

# The example of the Orca reference §1.3, as Deck would save it (unicode included).
SHOP_DEPLOY: Json = {
    "id": "7c0f8f0e-1d1b-4b8e-9a51-2d0d4f6a0b11",
    "application": "shop",
    "name": "deploy-api",
    "limitConcurrent": True,
    "keepWaitingPipelines": False,
    "spelEvaluator": "v4",
    "parameterConfig": [
        {
            "name": "env",
            "default": "staging",
            "required": True,
            "hasOptions": True,
            "options": [{"value": "staging"}, {"value": "prod"}],
        }
    ],
    "expectedArtifacts": [],
    "triggers": [
        {"type": "webhook", "enabled": True, "source": "shop-ci", "payloadConstraints": {"branch": "^main$"}},
        {"type": "cron", "enabled": True, "id": "c1", "cronExpression": "0 0 3 ? * MON-FRI"},
    ],
    "notifications": [
        {"type": "slack", "address": "#deploys", "level": "pipeline", "when": ["pipeline.failed"]}
    ],
    "stages": [
        {
            "refId": "1",
            "requisiteStageRefIds": [],
            "type": "evaluateVariables",
            "name": "Vars",
            "variables": [
                {"key": "ver", "value": "${trigger.payload?.version ?: 'latest'}"},
                {"key": "tag", "value": "${'api-' + ver}"},
            ],
        },
        {
            "refId": "2",
            "requisiteStageRefIds": ["1"],
            "type": "webhook",
            "name": "Build",
            "url": "https://ci.example/build",
            "method": "POST",
            "payload": {"tag": "${tag}"},
            "waitForCompletion": True,
            "statusUrlResolution": "locationHeader",
            "statusJsonPath": "$.state",
            "successStatuses": "DONE",
            "terminalStatuses": "FAILED",
            "stageTimeoutMs": 1800000,
        },
        {
            "refId": "3",
            "requisiteStageRefIds": ["1"],
            "type": "wait",
            "name": "Soak",
            "waitTime": 30,
            "failPipeline": False,
            "continuePipeline": True,
        },
        {
            "refId": "4",
            "requisiteStageRefIds": ["2", "3"],
            "type": "manualJudgment",
            "name": "Approve",
            "stageEnabled": {"type": "expression", "expression": "parameters.env == 'prod'"},
            "judgmentInputs": [{"value": "ship"}, {"value": "hold"}],
            "instructions": "Check dashboards",
            "propagateAuthenticationContext": True,
        },
        {
            "refId": "5",
            "requisiteStageRefIds": ["4"],
            "type": "checkPreconditions",
            "name": "Gate",
            "preconditions": [
                {
                    "type": "expression",
                    "failPipeline": True,
                    "context": {"expression": "parameters.env != 'prod' or #judgment('Approve') == 'ship'"},
                }
            ],
        },
        {
            "refId": "6",
            "requisiteStageRefIds": ["5"],
            "type": "pipeline",
            "name": "Deploy",
            "application": "shop",
            "pipeline": "0a1b…",
            "pipelineParameters": {"tag": "${tag}"},
            "waitForCompletion": True,
        },
    ],
}

_IMAGE_ARTIFACT_ID = "4d1f3c2a-8b7e-4c55-9f2e-0c6a1b2d3e4f"


def _manifest_stage(ref_id: str, requisites: list[str], account: str, traffic: bool) -> Json:
    return {
        "account": account,
        "cloudProvider": "kubernetes",
        "manifestArtifactAccount": "embedded-artifact",
        "manifests": [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "shop-api", "namespace": "shop", "labels": {"app": "shop-api"}},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": "shop-api"}},
                    "template": {
                        "metadata": {"labels": {"app": "shop-api"}},
                        "spec": {
                            "containers": [
                                {
                                    "name": "api",
                                    "image": "registry.example.com/shop/api",
                                    "ports": [{"containerPort": 8080}],
                                    "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
                                    "env": [{"name": "RATIO", "value": "0.1"}],
                                }
                            ]
                        },
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "shop-api", "namespace": "shop"},
                "spec": {"selector": {"app": "shop-api"}, "ports": [{"port": 80, "targetPort": 8080}]},
            },
        ],
        "moniker": {"app": "shop"},
        "name": f"Deploy (Manifest) {account}",
        "namespaceOverride": "",
        "refId": ref_id,
        "requiredArtifactIds": [_IMAGE_ARTIFACT_ID],
        "requiredArtifacts": [],
        "requisiteStageRefIds": requisites,
        "skipExpressionEvaluation": False,
        "source": "text",
        "trafficManagement": {
            "enabled": traffic,
            "options": {
                "enableTraffic": traffic,
                "namespace": "shop",
                "services": ["service shop-api"],
                "strategy": "redblack",
            },
        },
        "type": "deployManifest",
    }


# A Kubernetes pipeline as Deck saves it (keys alphabetical, as Deck sends them).
K8S_DEPLOY: Json = {
    "appConfig": {},
    "application": "shop",
    "description": "Deploy shop-api to staging, then to prod after approval",
    "expectedArtifacts": [
        {
            "defaultArtifact": {
                "artifactAccount": "docker-registry",
                "id": "0e6b9b8e-1b2f-4a43-a4a8-6d8b1f1c2d3e",
                "name": "registry.example.com/shop/api",
                "reference": "registry.example.com/shop/api:1.0.0",
                "type": "docker/image",
                "version": "1.0.0",
            },
            "displayName": "api-image",
            "id": _IMAGE_ARTIFACT_ID,
            "matchArtifact": {
                "artifactAccount": "docker-registry",
                "id": "6a0c5e3e-2d4f-4b5e-8c7d-9e0f1a2b3c4d",
                "name": "registry.example.com/shop/api",
                "type": "docker/image",
            },
            "useDefaultArtifact": True,
            "usePriorArtifact": False,
        }
    ],
    "id": "3f0b4b2e-5c6d-4e7f-8a9b-0c1d2e3f4a5b",
    "index": 0,
    "keepWaitingPipelines": False,
    "lastModifiedBy": "alice@example.com",
    "limitConcurrent": True,
    "name": "Deploy to Kubernetes",
    "spelEvaluator": "v4",
    "stages": [
        _manifest_stage("1", [], "k8s-staging", False),
        {
            "failPipeline": True,
            "instructions": "Promote to prod?",
            "judgmentInputs": [],
            "name": "Manual Judgment",
            "notifications": [],
            "refId": "2",
            "requisiteStageRefIds": ["1"],
            "type": "manualJudgment",
        },
        _manifest_stage("3", ["2"], "k8s-prod", True),
        {
            "account": "k8s-prod",
            "app": "shop",
            "cloudProvider": "kubernetes",
            "location": "shop",
            "manifestName": "deployment shop-api",
            "mode": "static",
            "name": "Undo Rollout (Manifest)",
            "numRevisionsBack": 1,
            "refId": "4",
            "requisiteStageRefIds": ["3"],
            "stageEnabled": {
                "expression": "${#stage('Deploy (Manifest) k8s-prod').status.toString() != 'SUCCEEDED'}",
                "type": "expression",
            },
            "type": "undoRolloutManifest",
        },
    ],
    "triggers": [
        {
            "account": "docker-registry",
            "enabled": True,
            "expectedArtifactIds": [_IMAGE_ARTIFACT_ID],
            "organization": "shop",
            "registry": "registry.example.com",
            "repository": "shop/api",
            "tag": "^v?\\d+\\.\\d+\\.\\d+$",
            "type": "docker",
        }
    ],
    "updateTs": "1699999999000",
    # Not Spinnaker's: values that JSON stores must not bend.
    "x-extra": {"big": 2**53 + 1, "ratio": 0.1, "none": None, "empty": {}, "text": "ünïcødé ✓ \u2028"},
}

# An MPT v2 instance (no id yet: the first save gives it one).
TEMPLATED: Json = {
    "schema": "v2",
    "application": "shop",
    "name": "Templated deploy",
    "template": {
        "artifactAccount": "front50ArtifactCredentials",
        "reference": "spinnaker://deploy-template:stable",
        "type": "front50/pipelineTemplate",
    },
    "variables": {"namespace": "shop", "replicas": 3, "waitTime": 30},
    "exclude": ["notifications"],
    "triggers": [],
    "parameters": [],
    "notifications": [],
    "stages": [
        {
            "refId": "smoke",
            "type": "webhook",
            "name": "Smoke test",
            "url": "https://smoke.example/run",
            "method": "POST",
            "inject": {"after": ["deploy"]},
        }
    ],
    "type": "templatedPipeline",
    "description": "from the deploy template",
}


@pytest.fixture
def repo(clock: FrozenClock) -> PipelineConfigRepository:
    return PipelineConfigRepository(clock)


def save(db: Database, repo: PipelineConfigRepository, body: Json, **kwargs: Any) -> Json:
    with db.transaction() as conn:
        return repo.save(conn, copy.deepcopy(body), **kwargs)


def get(db: Database, repo: PipelineConfigRepository, config_id: str) -> Json:
    with db.read() as conn:
        return repo.get(conn, config_id)


def snapshot(db: Database, repo: PipelineConfigRepository) -> list[tuple[Json, list[Any]]]:
    """Every config with its history: what a failed write must leave untouched."""
    with db.read() as conn:
        configs = sorted(repo.list_all(conn), key=lambda c: str(c["id"]))
        return [(c, repo.history(conn, c["id"])) for c in configs]


def wait_for_lock_waiter(db: Database, table: str, timeout: float = 10.0) -> bool:
    """Whether some PostgreSQL session ends up waiting on a lock while writing ``table``."""
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE :pattern"
    )
    deadline = time.monotonic() + timeout
    with db.engine.connect() as conn:
        while time.monotonic() < deadline:
            if conn.execute(query, {"pattern": f"%{table}%"}).scalar():
                return True
            conn.rollback()
            time.sleep(0.01)
    return False


def pipeline(name: str, application: str = "shop", **fields: Any) -> Json:
    return {"application": application, "name": name, "stages": [], **fields}


# -- round trips of real Spinnaker JSON ---------------------------------------------------------------


@pytest.mark.parametrize("sample", [SHOP_DEPLOY, K8S_DEPLOY], ids=["orca-reference", "kubernetes"])
def test_real_pipelines_round_trip_unchanged(
    db: Database, repo: PipelineConfigRepository, clock: FrozenClock, sample: Json
) -> None:
    saved = save(db, repo, sample, user="alice@example.com")
    expected = {**sample, "updateTs": str(clock.now_ms()), "lastModifiedBy": "alice@example.com"}
    stored = get(db, repo, sample["id"])
    assert saved == stored == expected
    # Same keys in the same order at every level, not just equal dicts.
    assert jsonlib.dumps(stored) == jsonlib.dumps(expected)


def test_values_json_could_bend_are_kept_exactly(db: Database, repo: PipelineConfigRepository) -> None:
    stored = get(db, repo, save(db, repo, K8S_DEPLOY)["id"])
    assert stored["x-extra"] == {
        "big": 2**53 + 1,
        "ratio": 0.1,
        "none": None,
        "empty": {},
        "text": "ünïcødé ✓ \u2028",
    }


def test_a_templated_instance_round_trips_with_a_new_id_first(
    db: Database, repo: PipelineConfigRepository, clock: FrozenClock
) -> None:
    saved = save(db, repo, TEMPLATED)
    config_id = saved["id"]
    assert str(uuid.UUID(config_id)) == config_id
    expected = {"id": config_id, **TEMPLATED, "updateTs": str(clock.now_ms()), "lastModifiedBy": "anonymous"}
    stored = get(db, repo, config_id)
    assert jsonlib.dumps(stored) == jsonlib.dumps(expected)


def test_an_unknown_id_creates_the_config_under_that_id(db: Database, repo: PipelineConfigRepository) -> None:
    saved = save(db, repo, pipeline("x", id="my-own-id"))
    assert saved["id"] == "my-own-id"
    assert get(db, repo, "my-own-id")["name"] == "x"
    with db.read() as conn:
        assert repo.revision_of(conn, "my-own-id") == 1


def test_the_name_is_trimmed(db: Database, repo: PipelineConfigRepository) -> None:
    saved = save(db, repo, pipeline("  spaced out  "))
    assert saved["name"] == "spaced out"
    with db.read() as conn:
        assert repo.get_by_name(conn, "shop", "SPACED OUT")["id"] == saved["id"]


# -- updates and history ------------------------------------------------------------------------------


def test_every_save_is_a_new_revision_newest_first(
    db: Database, repo: PipelineConfigRepository, clock: FrozenClock
) -> None:
    first = save(db, repo, pipeline("deploy", description="one"), user="alice")
    clock.advance(seconds=1)
    second = save(db, repo, {**first, "description": "two"}, user="bob")
    clock.advance(seconds=1)
    third = save(db, repo, {**second, "description": "three"})
    assert third["id"] == first["id"]
    with db.read() as conn:
        history = repo.history(conn, first["id"])
        assert [(r.revision, r.saved_by, r.body["description"]) for r in history] == [
            (3, None, "three"),
            (2, "bob", "two"),
            (1, "alice", "one"),
        ]
        assert [r.saved_at for r in history] == [
            int(third["updateTs"]),
            int(second["updateTs"]),
            int(first["updateTs"]),
        ]
        assert history[0].body == third and history[2].body == first
        assert [r.revision for r in repo.history(conn, first["id"], limit=2)] == [3, 2]
        assert repo.get_revision(conn, first["id"], 2).body == second
        assert repo.revision_of(conn, first["id"]) == 3
        with pytest.raises(NotFound):
            repo.get_revision(conn, first["id"], 9)


def test_restore_saves_an_old_revision_as_the_newest(
    db: Database, repo: PipelineConfigRepository, clock: FrozenClock
) -> None:
    first = save(db, repo, pipeline("deploy", description="one", stages=[{"refId": "1", "type": "wait"}]))
    save(db, repo, {**first, "description": "two", "stages": []})
    clock.advance(seconds=3)
    with db.transaction() as conn:
        restored = repo.restore(conn, first["id"], 1, user="carol")
    assert restored == {**first, "updateTs": str(clock.now_ms()), "lastModifiedBy": "carol"}
    with db.read() as conn:
        assert repo.get(conn, first["id"]) == restored
        assert [r.revision for r in repo.history(conn, first["id"])] == [3, 2, 1]


def test_restoring_a_name_now_taken_is_a_conflict(db: Database, repo: PipelineConfigRepository) -> None:
    first = save(db, repo, pipeline("old-name"))
    save(db, repo, {**first, "name": "new-name"})
    save(db, repo, pipeline("OLD-NAME"))
    before = snapshot(db, repo)
    with pytest.raises(Conflict, match="already exists"), db.transaction() as conn:
        repo.restore(conn, first["id"], 1)
    assert snapshot(db, repo) == before


# -- names ----------------------------------------------------------------------------------------------


def test_names_are_unique_per_application_ignoring_case(db: Database, repo: PipelineConfigRepository) -> None:
    first = save(db, repo, pipeline("Deploy"))
    before = snapshot(db, repo)
    with pytest.raises(Conflict) as caught:
        save(db, repo, pipeline("DEPLOY", application="SHOP"))
    assert caught.value.message == (
        f"A pipeline with name DEPLOY already exists in application SHOP (id {first['id']})"
    )
    assert snapshot(db, repo) == before
    # The same name is fine in another application, and for a strategy.
    save(db, repo, pipeline("deploy", application="other"))
    with db.transaction() as conn:
        PipelineConfigRepository(FrozenClock(), kind=STRATEGY).save(conn, pipeline("deploy"))


def test_renaming_onto_another_config_is_a_conflict(db: Database, repo: PipelineConfigRepository) -> None:
    save(db, repo, pipeline("a"))
    b = save(db, repo, pipeline("b"))
    before = snapshot(db, repo)
    with pytest.raises(Conflict, match="A pipeline with name A already exists"):
        save(db, repo, {**b, "name": "A"})
    assert snapshot(db, repo) == before
    # Renaming a config to its own name in another case is fine.
    assert save(db, repo, {**b, "name": "B"})["name"] == "B"


def test_a_concurrent_save_of_the_same_name_is_a_conflict(
    db: Database, repo: PipelineConfigRepository
) -> None:
    outcome: list[BaseException | Json] = []

    def second_writer() -> None:
        try:
            outcome.append(save(db, repo, pipeline("race")))
        except BaseException as exc:  # reported to the main thread below
            outcome.append(exc)

    with db.transaction() as conn:
        repo.save(conn, pipeline("Race"))
        # The second writer waits for this transaction (row lock on PostgreSQL, the write lock
        # on SQLite); either way it must end with a Conflict, not a constraint error.
        thread = threading.Thread(target=second_writer)
        thread.start()
        if db.dialect == "postgresql":
            # Commit only once the second writer is blocked on the unique index, so the save
            # meets the constraint violation (not the name check) and must turn it into a Conflict.
            assert wait_for_lock_waiter(db, "pipeline_configs")
    thread.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict), outcome
    if db.dialect == "postgresql":
        assert "saved concurrently" in outcome[0].message
    with db.read() as conn:
        assert [c["name"] for c in repo.list_by_application(conn, "shop")] == ["Race"]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"application": "shop"}, [FieldError("$.name", "is required (a non-empty string)")]),
        ({"application": "shop", "name": "  "}, [FieldError("$.name", "is required (a non-empty string)")]),
        ({"name": "x", "application": 5}, [FieldError("$.application", "is required (a non-empty string)")]),
        (
            {"name": "x" * 256, "application": "shop"},
            [FieldError("$.name", "must be at most 255 characters")],
        ),
        (
            {"name": "x", "application": "a" * 256},
            [FieldError("$.application", "must be at most 255 characters")],
        ),
        ({"name": "x", "application": "shop", "id": 12}, [FieldError("$.id", "must be a string")]),
        (
            {"name": "x", "application": "shop", "id": "i" * 256},
            [FieldError("$.id", "must be at most 255 characters")],
        ),
        (
            {"stages": []},
            [
                FieldError("$.name", "is required (a non-empty string)"),
                FieldError("$.application", "is required (a non-empty string)"),
            ],
        ),
    ],
)
def test_invalid_configs_are_rejected_and_nothing_is_written(
    db: Database, repo: PipelineConfigRepository, body: Json, errors: list[FieldError]
) -> None:
    save(db, repo, pipeline("existing"))
    before = snapshot(db, repo)
    with pytest.raises(InvalidInput) as caught:
        save(db, repo, body)
    assert list(caught.value.errors) == errors
    assert snapshot(db, repo) == before


def test_a_name_of_exactly_255_characters_is_stored(db: Database, repo: PipelineConfigRepository) -> None:
    name = "é" * 255
    saved = save(db, repo, pipeline(name))
    assert get(db, repo, saved["id"])["name"] == name


@pytest.mark.parametrize("body", [None, [], "pipeline"])
def test_a_config_that_is_not_an_object_is_rejected(
    db: Database, repo: PipelineConfigRepository, body: Any
) -> None:
    with pytest.raises(InvalidInput) as caught, db.transaction() as conn:
        repo.save(conn, body)
    assert caught.value.errors == (FieldError("$", "a pipeline config must be a JSON object"),)


# -- stale saves ----------------------------------------------------------------------------------------


def test_stale_check_compares_update_ts(
    db: Database, repo: PipelineConfigRepository, clock: FrozenClock
) -> None:
    first = save(db, repo, pipeline("deploy"))
    clock.advance(seconds=1)
    second = save(db, repo, {**first, "description": "newer"}, stale_check=True)
    before = snapshot(db, repo)
    with pytest.raises(Conflict) as caught:
        save(db, repo, {**first, "description": "based on the old one"}, stale_check=True)
    assert caught.value.message == (
        f"The submitted pipeline is stale. submitted updateTs {first['updateTs']} "
        f"does not match stored updateTs {second['updateTs']}"
    )
    assert snapshot(db, repo) == before
    # Without the check, or without an updateTs in the body, the save goes through (as Front50).
    save(db, repo, {k: v for k, v in first.items() if k != "updateTs"}, stale_check=True)
    save(db, repo, first)


def test_stale_check_needs_a_numeric_update_ts(db: Database, repo: PipelineConfigRepository) -> None:
    first = save(db, repo, pipeline("deploy"))
    with pytest.raises(InvalidInput) as caught:
        save(db, repo, {**first, "updateTs": "yesterday"}, stale_check=True)
    assert caught.value.errors == (FieldError("$.updateTs", "must be epoch milliseconds"),)


def test_expected_revision(db: Database, repo: PipelineConfigRepository) -> None:
    first = save(db, repo, pipeline("deploy", id="p1"), expected_revision=0)
    save(db, repo, first, expected_revision=1)
    before = snapshot(db, repo)
    with pytest.raises(Conflict, match="pipeline p1 is at revision 2, not 1"):
        save(db, repo, {**first, "description": "lost update"}, expected_revision=1)
    with pytest.raises(Conflict, match="pipeline p2 is at revision 0, not 3"):
        save(db, repo, pipeline("other", id="p2"), expected_revision=3)
    assert snapshot(db, repo) == before


# -- cron trigger ids (Front50's ensureCronTriggersHaveIdentifier) --------------------------------------


def test_cron_triggers_get_ids(db: Database, repo: PipelineConfigRepository) -> None:
    crons: list[Json] = [
        {"type": "cron", "enabled": True, "cronExpression": "0 0 * * * ?"},
        {"type": "cron", "enabled": True, "id": "copied", "cronExpression": "0 0 * * * ?"},
        {"type": "webhook", "source": "x"},
    ]
    created = save(db, repo, pipeline("copy", triggers=crons))
    # A new config (no id) gets fresh ids for every cron trigger, so a copy never shares them.
    ids = [t.get("id") for t in created["triggers"]]
    assert ids[0] and ids[1] and ids[1] != "copied" and ids[2] is None
    assert created["triggers"][1] == {**crons[1], "id": ids[1]}
    # An existing config keeps its ids and only fills in missing ones.
    updated = save(db, repo, {**created, "triggers": [created["triggers"][0], crons[0]]})
    assert updated["triggers"][0]["id"] == ids[0]
    assert updated["triggers"][1]["id"] not in (None, ids[0])
    regenerated = save(db, repo, {**updated, "regenerateCronTriggerIds": True})
    assert regenerated["triggers"][0]["id"] != ids[0]


# -- reads ------------------------------------------------------------------------------------------------


def test_get_by_name_ignores_case(db: Database, repo: PipelineConfigRepository) -> None:
    saved = save(db, repo, pipeline("Deploy Prod", application="Shop"))
    with db.read() as conn:
        assert repo.get_by_name(conn, "SHOP", "deploy prod") == saved
        with pytest.raises(NotFound, match="No pipeline found with application shop, name nope"):
            repo.get_by_name(conn, "shop", "nope")
        with pytest.raises(NotFound):
            repo.get(conn, "missing-id")
        assert repo.find(conn, "missing-id") is None
        assert repo.revision_of(conn, "missing-id") is None


def test_list_by_application_uses_front50s_order(db: Database, repo: PipelineConfigRepository) -> None:
    for name, index in [("zulu", None), ("Alpha", None), ("second", 5), ("first", 2), ("also-two", 2)]:
        fields: Json = {} if index is None else {"index": index}
        save(db, repo, pipeline(name, **fields))
    save(db, repo, pipeline("elsewhere", application="other"))
    with db.read() as conn:
        listed = repo.list_by_application(conn, "SHOP")
        assert [(c["name"], c["index"]) for c in listed] == [
            ("also-two", 0),
            ("first", 1),
            ("second", 2),
            ("Alpha", 3),
            ("zulu", 4),
        ]
        # The renumbering is in what is returned only.
        assert "index" not in repo.get_by_name(conn, "shop", "zulu")
        assert [c["name"] for c in repo.list_by_application(conn, "shop", name_filter="ZU")] == ["zulu"]
        assert [c["name"] for c in repo.list_by_application(conn, "shop", name_filter="s")] == [
            "also-two",
            "first",
            "second",
        ]
        assert repo.list_by_application(conn, "shop", name_filter="%") == []
        assert repo.list_by_application(conn, "nobody") == []


def test_list_triggerable_keeps_enabled_configs_with_an_enabled_trigger(
    db: Database, repo: PipelineConfigRepository
) -> None:
    enabled = {"type": "webhook", "enabled": True, "source": "a"}
    save(db, repo, pipeline("yes", triggers=[{"type": "cron", "enabled": False}, enabled]))
    save(db, repo, pipeline("string-true", triggers=[{"type": "git", "enabled": "true"}]))
    save(db, repo, pipeline("disabled", disabled=True, triggers=[enabled]))
    save(db, repo, pipeline("no-enabled-trigger", triggers=[{"type": "cron"}]))
    save(db, repo, pipeline("no-triggers"))
    save(db, repo, pipeline("explicitly-enabled", disabled=False, triggers=[enabled], application="other"))
    with db.read() as conn:
        assert sorted(c["name"] for c in repo.list_triggerable(conn)) == [
            "explicitly-enabled",
            "string-true",
            "yes",
        ]
        assert len(repo.list_all(conn)) == 6


# -- deletes ----------------------------------------------------------------------------------------------


def test_delete_by_id_and_by_name(db: Database, repo: PipelineConfigRepository) -> None:
    a = save(db, repo, pipeline("a"))
    b = save(db, repo, pipeline("B"))
    save(db, repo, {**a, "description": "second revision"})
    with db.transaction() as conn:
        assert repo.delete(conn, a["id"]) is True
        assert repo.delete(conn, a["id"]) is False
        assert repo.delete_by_name(conn, "SHOP", "b") is True
        assert repo.delete_by_name(conn, "shop", "b") is False
    with db.read() as conn:
        assert repo.list_all(conn) == []
        assert repo.history(conn, a["id"]) == [] and repo.history(conn, b["id"]) == []
    # The name is free again.
    save(db, repo, pipeline("a"))


# -- strategies -------------------------------------------------------------------------------------------


def test_strategies_are_kept_apart_from_pipelines(
    db: Database, repo: PipelineConfigRepository, clock: FrozenClock
) -> None:
    strategies = PipelineConfigRepository(clock, kind=STRATEGY)
    with db.transaction() as conn:
        strategy = strategies.save(conn, pipeline("rolling", stages=[{"type": "wait", "waitTime": 5}]))
    p = save(db, repo, pipeline("deploy"))
    with db.read() as conn:
        assert strategies.get(conn, strategy["id"]) == strategy
        assert repo.find(conn, strategy["id"]) is None
        assert [c["name"] for c in strategies.list_by_application(conn, "shop")] == ["rolling"]
        assert [c["name"] for c in repo.list_by_application(conn, "shop")] == ["deploy"]
        assert repo.history(conn, strategy["id"]) == []
        assert [r.revision for r in strategies.history(conn, strategy["id"])] == [1]
    with pytest.raises(Conflict, match="belongs to a pipeline, not a strategy"), db.transaction() as conn:
        strategies.save(conn, {**p, "name": "hijack"})
    with db.transaction() as conn:
        assert repo.delete(conn, strategy["id"]) is False
    with pytest.raises(ValueError):
        PipelineConfigRepository(clock, kind="template")
