"""ExecutionRepository contract, run against a real SQLite file and a real PostgreSQL schema."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from gennaker.db import Database
from gennaker.model.execution import Execution
from gennaker.model.ids import new_ulid
from gennaker.model.status import ExecutionStatus
from gennaker.store.executions import (
    ConcurrentModification,
    ExecutionNotFound,
    ExecutionQuery,
    ExecutionRepository,
)
from gennaker.store.schema import executions as ex_t
from gennaker.store.schema import stages as st_t

Json = dict[str, Any]
T0 = 1_700_000_000_000


def spinnaker_execution(**overrides: Any) -> Json:
    """An execution as Orca serialises it, with keys Gennaker does not model at every level."""
    execution_id = new_ulid(T0)
    data: Json = {
        "id": execution_id,
        "type": "PIPELINE",
        "application": "shop",
        "name": "deploy-api",
        "pipelineConfigId": "7c0f8f0e-1d1b-4b8e-9a51-2d0d4f6a0b11",
        "status": "RUNNING",
        "buildTime": T0,
        "startTime": T0 + 5,
        "canceled": False,
        "limitConcurrent": True,
        "keepWaitingPipelines": False,
        "origin": "api",
        "authentication": {"user": "alice", "allowedAccounts": ["k8s-prod"]},
        "trigger": {
            "type": "webhook",
            "user": "[anonymous]",
            "parameters": {"env": "prod"},
            "artifacts": [],
            "correlationId": f"corr-{execution_id}",
            "payload": {"version": "1.2.3"},
            "eventId": "ev-1",
        },
        "notifications": [],
        "initialConfig": {},
        "systemNotifications": [],
        "spelEvaluator": "v4",
        "source": {"type": "templatedPipeline", "version": "v2"},
        "x-orca-future": {"nested": [1, None]},
        "stages": [
            {
                "id": new_ulid(T0),
                "refId": "1",
                "type": "wait",
                "name": "Soak",
                "status": "SUCCEEDED",
                "startTime": T0 + 10,
                "endTime": T0 + 40,
                "context": {"waitTime": 30, "unknownContextKey": {"a": [1, 2]}},
                "outputs": {},
                "tasks": [
                    {
                        "id": "1",
                        "name": "wait",
                        "implementingClass": "com.netflix.spinnaker.orca.pipeline.tasks.WaitTask",
                        "status": "SUCCEEDED",
                        "startTime": T0 + 10,
                        "endTime": T0 + 40,
                        "stageStart": True,
                        "stageEnd": True,
                        "loopStart": False,
                        "loopEnd": False,
                        "taskExceptionDetails": {},
                        "x-task-extra": "kept",
                    }
                ],
                "requisiteStageRefIds": [],
                "lastModified": {"user": "alice", "allowedAccounts": [], "lastModifiedTime": T0 + 40},
                "x-stage-extra": True,
            },
            {
                "id": new_ulid(T0),
                "refId": "2",
                "type": "manualJudgment",
                "name": "Approve",
                "status": "RUNNING",
                "startTime": T0 + 41,
                "context": {"judgmentInputs": [{"value": "ship"}]},
                "outputs": {},
                "tasks": [],
                "requisiteStageRefIds": ["1"],
            },
            {
                "id": new_ulid(T0),
                "refId": "2<1",
                "type": "restrictExecutionDuringTimeWindow",
                "name": "restrictExecutionDuringTimeWindow",
                "status": "NOT_STARTED",
                "context": {},
                "outputs": {},
                "tasks": [],
                "requisiteStageRefIds": [],
                "parentStageId": "placeholder",
                "syntheticStageOwner": "STAGE_BEFORE",
            },
        ],
    }
    data["stages"][2]["parentStageId"] = data["stages"][1]["id"]
    data.update(overrides)
    return data


@pytest.fixture
def repo(db: Database) -> ExecutionRepository:
    return ExecutionRepository(db.dialect)


def insert(db: Database, repo: ExecutionRepository, data: Json) -> Execution:
    execution = Execution.from_json(copy.deepcopy(data))
    with db.transaction() as conn:
        repo.insert(conn, execution)
    return execution


def load(db: Database, repo: ExecutionRepository, execution_id: str) -> Execution:
    with db.read() as conn:
        return repo.load(conn, execution_id)


@contextmanager
def recorded_writes(db: Database) -> Iterator[list[str]]:
    """The INSERT/UPDATE/DELETE statements sent to the database inside the block."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE"):
            statements.append(" ".join(statement.split()[:3]))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


# -- round trip ---------------------------------------------------------------------------------------


def test_insert_and_load_round_trip_spinnaker_json(db: Database, repo: ExecutionRepository) -> None:
    data = spinnaker_execution()
    inserted = insert(db, repo, data)
    loaded = load(db, repo, data["id"])
    assert loaded.to_json() == inserted.to_json()
    out = loaded.to_json()
    # Keys Gennaker does not model come back unchanged, at every level.
    assert out["x-orca-future"] == {"nested": [1, None]}
    assert out["source"] == data["source"]
    assert out["trigger"] == data["trigger"]
    assert out["stages"][0]["x-stage-extra"] is True
    assert out["stages"][0]["context"] == data["stages"][0]["context"]
    assert out["stages"][0]["tasks"][0]["x-task-extra"] == "kept"
    assert out["stages"][0]["lastModified"] == data["stages"][0]["lastModified"]
    assert [s["id"] for s in out["stages"]] == [s["id"] for s in data["stages"]]
    assert out["stages"][2]["syntheticStageOwner"] == "STAGE_BEFORE"
    for key, value in data.items():
        if key != "stages":
            assert out[key] == value, key


def test_find_status_and_missing_executions(db: Database, repo: ExecutionRepository) -> None:
    data = spinnaker_execution()
    insert(db, repo, data)
    with db.read() as conn:
        assert repo.status_of(conn, data["id"]) is ExecutionStatus.RUNNING
        assert repo.status_of(conn, "nope") is None
        assert repo.find(conn, "nope") is None
        with pytest.raises(ExecutionNotFound, match="execution nope not found"):
            repo.load(conn, "nope")
    with db.transaction() as conn:
        assert repo.load(conn, data["id"], for_update=True).id == data["id"]


# -- saves --------------------------------------------------------------------------------------------


def test_a_save_writes_only_the_stages_that_changed(db: Database, repo: ExecutionRepository) -> None:
    data = spinnaker_execution()
    insert(db, repo, data)
    with db.transaction() as conn:
        execution = repo.load(conn, data["id"])
        execution.stages[1].status = ExecutionStatus.SUCCEEDED
        execution.stages[1].context["judgment"] = "ship"
        with recorded_writes(db) as writes:
            repo.save(conn, execution)
    assert writes == ["UPDATE stages SET"]
    reloaded = load(db, repo, data["id"])
    assert reloaded.stages[1].status is ExecutionStatus.SUCCEEDED
    assert reloaded.stages[1].context["judgment"] == "ship"
    assert reloaded.stored_version == 1


def test_a_save_without_changes_writes_nothing(db: Database, repo: ExecutionRepository) -> None:
    data = spinnaker_execution()
    insert(db, repo, data)
    with db.transaction() as conn:
        execution = repo.load(conn, data["id"])
        with recorded_writes(db) as writes:
            repo.save(conn, execution)
    assert writes == []


def test_a_header_change_bumps_the_version_and_new_stages_are_inserted(
    db: Database, repo: ExecutionRepository
) -> None:
    data = spinnaker_execution()
    insert(db, repo, data)
    extra = Execution.from_json(spinnaker_execution()).stages[0]
    extra.ref_id = "3"
    with db.transaction() as conn:
        execution = repo.load(conn, data["id"])
        execution.status = ExecutionStatus.SUCCEEDED
        execution.end_time = T0 + 100
        execution.stages.append(extra)
        with recorded_writes(db) as writes:
            repo.save(conn, execution)
    assert sorted(writes) == ["INSERT INTO stages", "UPDATE executions SET"]
    reloaded = load(db, repo, data["id"])
    assert (reloaded.status, reloaded.end_time, reloaded.stored_version) == (
        ExecutionStatus.SUCCEEDED,
        T0 + 100,
        2,
    )
    assert [s.ref_id for s in reloaded.stages] == ["1", "2", "2<1", "3"]


def test_removed_stages_are_deleted(db: Database, repo: ExecutionRepository) -> None:
    data = spinnaker_execution()
    insert(db, repo, data)
    removed_id = data["stages"][2]["id"]
    with db.transaction() as conn:
        execution = repo.load(conn, data["id"])
        execution.stages = [s for s in execution.stages if s.id != removed_id]
        repo.save(conn, execution)
    assert [s.id for s in load(db, repo, data["id"]).stages] == [s["id"] for s in data["stages"][:2]]
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(st_t.c.id == removed_id)).scalar_one() == 0


def test_a_stale_header_save_is_a_concurrent_modification(db: Database, repo: ExecutionRepository) -> None:
    data = spinnaker_execution()
    insert(db, repo, data)
    first = load(db, repo, data["id"])
    second = load(db, repo, data["id"])
    first.status = ExecutionStatus.SUCCEEDED
    with db.transaction() as conn:
        repo.save(conn, first)
    second.status = ExecutionStatus.TERMINAL
    second.stages[1].status = ExecutionStatus.TERMINAL
    with pytest.raises(ConcurrentModification), db.transaction() as conn:
        repo.save(conn, second)
    reloaded = load(db, repo, data["id"])
    assert reloaded.status is ExecutionStatus.SUCCEEDED
    assert reloaded.stages[1].status is ExecutionStatus.RUNNING  # the failed save wrote nothing


# -- queries ------------------------------------------------------------------------------------------


def _seed_history(db: Database, repo: ExecutionRepository) -> dict[str, str]:
    """Five executions at known times; returns name -> id."""
    specs = [
        ("a1", "shop", "cfg-a", "SUCCEEDED", T0 + 1000, "PIPELINE"),
        ("a2", "shop", "cfg-a", "TERMINAL", T0 + 2000, "PIPELINE"),
        ("b1", "shop", "cfg-b", "RUNNING", T0 + 3000, "PIPELINE"),
        ("o1", "other", "cfg-o", "SUCCEEDED", T0 + 4000, "PIPELINE"),
        ("t1", "shop", None, "SUCCEEDED", T0 + 5000, "ORCHESTRATION"),
    ]
    ids = {}
    for name, app, config, status, built, kind in specs:
        data = spinnaker_execution(
            id=new_ulid(built),
            application=app,
            pipelineConfigId=config,
            status=status,
            buildTime=built,
            type=kind,
            name=name,
        )
        if config is None:
            del data["pipelineConfigId"]
        insert(db, repo, data)
        ids[name] = data["id"]
    return ids


def test_search_filters_and_orders_newest_first(db: Database, repo: ExecutionRepository) -> None:
    ids = _seed_history(db, repo)

    def names(**filters: Any) -> list[str | None]:
        with db.read() as conn:
            return [e.name for e in repo.search(conn, ExecutionQuery(**filters))]

    assert names() == ["t1", "o1", "b1", "a2", "a1"]
    assert names(application="shop") == ["t1", "b1", "a2", "a1"]
    assert names(application="shop", type="PIPELINE") == ["b1", "a2", "a1"]
    assert names(pipeline_config_ids=["cfg-a", "cfg-o"]) == ["o1", "a2", "a1"]
    assert names(statuses=["succeeded", "TERMINAL"]) == ["t1", "o1", "a2", "a1"]
    assert names(built_after=T0 + 2000, built_before=T0 + 4000) == ["b1", "a2"]
    assert names(application="shop", limit=2) == ["t1", "b1"]
    assert names(execution_ids=[ids["a1"], ids["o1"]]) == ["o1", "a1"]
    searched = names(pipeline_config_ids=["cfg-a"], statuses=["SUCCEEDED"])
    assert searched == ["a1"]
    with db.read() as conn:
        found = repo.search(conn, ExecutionQuery(execution_ids=[ids["b1"]]))
        assert len(found[0].stages) == 3  # searched executions come with their stages
        assert repo.list_ids(conn, ExecutionQuery(application="other")) == [ids["o1"]]
        assert repo.count(conn, pipeline_config_id="cfg-a", statuses=[ExecutionStatus.SUCCEEDED]) == 1
        assert (
            repo.count(
                conn,
                pipeline_config_id="cfg-a",
                statuses=[ExecutionStatus.SUCCEEDED, ExecutionStatus.TERMINAL],
            )
            == 2
        )


def test_load_many_keeps_the_order_asked_for(db: Database, repo: ExecutionRepository) -> None:
    ids = _seed_history(db, repo)
    order = [ids["b1"], ids["a1"], "missing", ids["t1"]]
    with db.read() as conn:
        loaded = repo.load_many(conn, order)
        assert repo.load_many(conn, []) == []
    assert [e.id for e in loaded] == [ids["b1"], ids["a1"], ids["t1"]]
    assert all(len(e.stages) == 3 for e in loaded)
    assert [s.ref_id for s in loaded[0].stages] == ["1", "2", "2<1"]


def test_delete_removes_the_execution_and_its_stages(db: Database, repo: ExecutionRepository) -> None:
    data = spinnaker_execution()
    insert(db, repo, data)
    other = spinnaker_execution()
    insert(db, repo, other)
    with db.transaction() as conn:
        assert repo.delete(conn, data["id"]) is True
        assert repo.delete(conn, data["id"]) is False
    with db.read() as conn:
        assert repo.find(conn, data["id"]) is None
        assert (
            conn.execute(sa.select(sa.func.count()).where(st_t.c.execution_id == data["id"])).scalar_one()
            == 0
        )
        assert repo.load(conn, other["id"]).to_json() == Execution.from_json(other).to_json()


def test_correlation_ids_find_the_execution_and_are_unique(db: Database, repo: ExecutionRepository) -> None:
    data = spinnaker_execution()
    insert(db, repo, data)
    without = spinnaker_execution()
    without["trigger"] = {"type": "manual", "user": "bob"}
    insert(db, repo, without)
    with db.read() as conn:
        assert repo.id_for_correlation(conn, data["trigger"]["correlationId"]) == data["id"]
        assert repo.id_for_correlation(conn, "unknown") is None
        stored = conn.execute(sa.select(ex_t.c.correlation_id).where(ex_t.c.id == without["id"])).scalar()
        assert stored is None
    duplicate = spinnaker_execution()
    duplicate["trigger"] = dict(data["trigger"])
    with pytest.raises(sa.exc.IntegrityError):
        insert(db, repo, duplicate)


def test_stages_inserted_in_the_middle_keep_the_order_on_reload(
    db: Database, repo: ExecutionRepository
) -> None:
    execution = insert(db, repo, spinnaker_execution())
    before = [s.id for s in execution.stages]
    added = copy.deepcopy(execution.stages[0])
    added.id = new_ulid()
    added.ref_id = "1<1"
    added.parent_stage_id = execution.stages[0].id
    added.synthetic_stage_owner = "STAGE_BEFORE"
    execution.stages.insert(0, added)
    with db.transaction() as conn:
        repo.save(conn, execution)
    reloaded = load(db, repo, execution.id)
    assert [s.id for s in reloaded.stages] == [added.id, *before]
