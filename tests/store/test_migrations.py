"""Schema migrations on both backends: fresh databases, repeated upgrades, upgrades in place.

The in-place test walks the whole revision list, so it keeps checking every step as migrations
are added. Its seed data is plain SQL against the *first* revision's tables, which never change;
a later migration that reshapes data must keep what was written then readable through the
repositories.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from gennaker.clock import FrozenClock
from gennaker.db import Database
from gennaker.store import json as jsonlib
from gennaker.store import migrate
from gennaker.store.applications import ApplicationRepository
from gennaker.store.executions import ExecutionRepository
from gennaker.store.pipelines import PipelineConfigRepository
from gennaker.store.schema import metadata
from gennaker.store.templates import PipelineTemplateRepository

T0 = 1_600_000_000_000
DIGEST = "ab" * 32


def revision_list() -> list[str]:
    """Every migration, oldest first."""
    config = Config()
    config.set_main_option("script_location", str(Path(migrate.__file__).with_name("migrations")))
    return [
        script.revision for script in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))
    ]


@pytest.fixture
def empty_db(database_url: str) -> Iterator[Database]:
    """A database of each backend with no tables at all."""
    database = Database(database_url)
    try:
        yield database
    finally:
        database.dispose()


def schema_differences(db: Database) -> list[object]:
    """What separates the database's schema from schema.py (empty when they agree)."""
    with db.engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


def test_the_revision_list_is_one_line_ending_at_head() -> None:
    revisions = revision_list()
    assert revisions and revisions[-1] == migrate.head_revision()
    assert len(set(revisions)) == len(revisions)


def test_a_fresh_database_reaches_head_matching_the_schema(empty_db: Database) -> None:
    assert migrate.current_revision(empty_db) is None
    migrate.upgrade(empty_db)
    assert migrate.current_revision(empty_db) == migrate.head_revision()
    assert schema_differences(empty_db) == []


def test_upgrading_again_changes_nothing(empty_db: Database) -> None:
    migrate.upgrade(empty_db)
    apps = ApplicationRepository(FrozenClock())
    with empty_db.transaction() as conn:
        created = apps.create(conn, {"name": "shop", "email": "a@b"})
    migrate.upgrade(empty_db)
    migrate.upgrade(empty_db)
    assert migrate.current_revision(empty_db) == migrate.head_revision()
    assert schema_differences(empty_db) == []
    with empty_db.read() as conn:
        assert apps.get(conn, "shop") == created


def _row(conn: Connection, table: str, **values: object) -> None:
    columns: list[sa.ColumnClause[Any]] = [sa.column(name) for name in values]
    conn.execute(sa.table(table, *columns).insert().values(**values))


def seed_first_revision(conn: Connection) -> None:
    """Data as the repositories wrote it at the first revision, inserted with plain SQL."""
    app = {
        "name": "legacy",
        "email": "old@example.com",
        "cloudProviders": "kubernetes",
        "createTs": str(T0),
        "updateTs": str(T0),
        "lastModifiedBy": "anonymous",
    }
    _row(conn, "applications", name="legacy", body=jsonlib.dumps(app), created_at=T0, updated_at=T0)
    versions = []
    for revision in (1, 2):
        versions.append(
            {
                "id": "cfg-legacy",
                "application": "legacy",
                "name": "Deploy",
                "stages": [{"refId": "1", "type": "wait", "waitTime": revision}],
                "x-unknown": True,
                "updateTs": str(T0 + revision),
                "lastModifiedBy": "alice",
            }
        )
        _row(
            conn,
            "pipeline_config_revisions",
            config_id="cfg-legacy",
            revision=revision,
            body=jsonlib.dumps(versions[-1]),
            saved_at=T0 + revision,
            saved_by="alice",
        )
    _row(
        conn,
        "pipeline_configs",
        id="cfg-legacy",
        application="legacy",
        name="Deploy",
        name_key="deploy",
        kind="pipeline",
        body=jsonlib.dumps(versions[-1]),
        revision=2,
        updated_at=T0 + 2,
        updated_by="alice",
    )
    template = {"schema": "v2", "id": "tpl", "metadata": {"scopes": ["global"]}, "updateTs": str(T0)}
    for tag in ("latest", DIGEST):
        _row(
            conn,
            "pipeline_templates",
            id="tpl",
            tag=tag,
            digest=DIGEST,
            body=jsonlib.dumps(template),
            updated_at=T0,
            updated_by=None,
        )
    header = {
        "id": "01EXECUTION",
        "type": "PIPELINE",
        "application": "legacy",
        "name": "Deploy",
        "pipelineConfigId": "cfg-legacy",
        "status": "SUCCEEDED",
        "buildTime": T0,
        "canceled": False,
        "trigger": {"type": "manual", "user": "alice", "correlationId": "corr-1"},
        "x-unknown": {"kept": 1},
    }
    _row(
        conn,
        "executions",
        id="01EXECUTION",
        type="PIPELINE",
        application="legacy",
        pipeline_config_id="cfg-legacy",
        name="Deploy",
        status="SUCCEEDED",
        build_time=T0,
        start_time=T0,
        end_time=T0 + 10,
        canceled=False,
        correlation_id="corr-1",
        version=1,
        body=jsonlib.dumps(header),
    )
    stage = {
        "id": "01STAGE",
        "refId": "1",
        "type": "wait",
        "name": "wait",
        "status": "SUCCEEDED",
        "context": {},
    }
    _row(
        conn,
        "stages",
        id="01STAGE",
        execution_id="01EXECUTION",
        position=0,
        ref_id="1",
        status="SUCCEEDED",
        body=jsonlib.dumps(stage),
    )


def test_data_from_the_first_revision_survives_every_step_to_head(empty_db: Database) -> None:
    revisions = revision_list()
    migrate.upgrade(empty_db, revisions[0])
    with empty_db.transaction() as conn:
        seed_first_revision(conn)
    for revision in revisions[1:]:
        migrate.upgrade(empty_db, revision)
        assert migrate.current_revision(empty_db) == revision
    migrate.upgrade(empty_db)
    assert migrate.current_revision(empty_db) == migrate.head_revision()

    clock = FrozenClock(T0 + 1000)
    apps = ApplicationRepository(clock)
    pipelines = PipelineConfigRepository(clock)
    templates = PipelineTemplateRepository(clock)
    executions = ExecutionRepository(empty_db.dialect)
    with empty_db.read() as conn:
        assert apps.get(conn, "LEGACY")["email"] == "old@example.com"
        config = pipelines.get_by_name(conn, "legacy", "deploy")
        assert config["x-unknown"] is True and config["stages"][0]["waitTime"] == 2
        assert [r.revision for r in pipelines.history(conn, "cfg-legacy")] == [2, 1]
        assert templates.get(conn, "tpl")["metadata"] == {"scopes": ["global"]}
        assert templates.resolve(conn, f"spinnaker://tpl@sha256:{DIGEST}")["id"] == "tpl"
        execution = executions.load(conn, "01EXECUTION")
        assert execution.to_json()["x-unknown"] == {"kept": 1}
        # 0006 gave the old trigger the keys Orca always writes (Deck reads them unguarded).
        assert execution.trigger == {
            "type": "manual",
            "user": "alice",
            "correlationId": "corr-1",
            "parameters": {},
            "artifacts": [],
            "notifications": [],
            "resolvedExpectedArtifacts": [],
            "expectedArtifacts": [],
            "rebake": False,
            "dryRun": False,
            "strategy": False,
        }
        assert [s.id for s in execution.stages] == ["01STAGE"]
        assert executions.id_for_correlation(conn, "corr-1") == "01EXECUTION"
    # The upgraded data takes writes through the repositories too.
    with empty_db.transaction() as conn:
        saved = pipelines.save(conn, {**config, "description": "after the upgrade"})
        apps.update(conn, "legacy", {"description": "upgraded"})
    with empty_db.read() as conn:
        assert [r.revision for r in pipelines.history(conn, "cfg-legacy")] == [3, 2, 1]
        assert pipelines.get(conn, "cfg-legacy") == saved


def _upgrade_in_another_process(url: str, barrier: Any, results: Any) -> None:
    """Child process body: wait for the other one, then upgrade; report "ok" or the error."""
    db = Database(url)
    try:
        barrier.wait(timeout=60)
        migrate.upgrade(db)
        results.put("ok")
    except Exception as exc:  # reported to the parent through the queue
        results.put(f"{type(exc).__name__}: {exc}")
    finally:
        db.dispose()


def test_concurrent_upgrades_on_postgresql_both_succeed(postgres_url: str) -> None:
    # Separate processes, as in production (Alembic's context is per process): without the
    # advisory lock in migrate.upgrade, one of them fails on a duplicate CREATE TABLE.
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    processes = [
        ctx.Process(target=_upgrade_in_another_process, args=(postgres_url, barrier, results)) for _ in "ab"
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert outcomes == ["ok", "ok"]
    db = Database(postgres_url)
    try:
        assert migrate.current_revision(db) == migrate.head_revision()
        assert schema_differences(db) == []
    finally:
        db.dispose()
