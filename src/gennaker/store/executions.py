"""Executions with their stages and tasks (Orca's ExecutionRepository).

An execution is one row (its JSON without stages, plus indexed columns) and one row per stage.
``save`` writes the header and only the stages whose JSON changed since they were read, so a
handler that moves one stage of a 100-stage pipeline writes two rows; told which stages the caller
changed, it serialises only those, so its cost does not grow with the pipeline.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker.model.execution import Execution, Stage
from gennaker.model.status import ExecutionStatus
from gennaker.store import json as jsonlib
from gennaker.store.schema import executions as ex_t
from gennaker.store.schema import stages as st_t

_HEADER = "\x00header"
#: What a refresh copies from a re-read stage row into the cached stage (its identity stays).
_STAGE_FIELDS = tuple(f.name for f in dataclasses.fields(Stage) if f.name != "status_listener")


def _shape(stage: Stage) -> tuple[object, ...]:
    return (
        stage.ref_id,
        stage.requisite_stage_ref_ids,
        stage.parent_stage_id,
        stage.synthetic_stage_owner,
        stage.is_finally,
    )


class ExecutionNotFound(LookupError):
    """No execution has this id."""

    def __init__(self, execution_id: str) -> None:
        super().__init__(f"execution {execution_id} not found")
        self.execution_id = execution_id


class ConcurrentModification(RuntimeError):
    """The execution changed since it was read; the caller's transaction must roll back."""


@dataclass(frozen=True)
class ExecutionQuery:
    """Filters for listing executions; every field is optional."""

    application: str | None = None
    type: str | None = None
    pipeline_config_ids: Sequence[str] | None = None
    execution_ids: Sequence[str] | None = None
    statuses: Sequence[str] | None = None
    built_after: int | None = None
    built_before: int | None = None
    limit: int = 100


class ExecutionRepository:
    """Reads and writes executions inside the caller's transaction."""

    def __init__(self, dialect: str, *, verify_writes: bool = False) -> None:
        self._for_update = dialect == "postgresql"
        #: Check after each tracked save that no unmarked stage changed (tests turn this on).
        self.verify_writes = verify_writes

    # -- writes ----------------------------------------------------------------------------------

    def insert(self, conn: Connection, execution: Execution) -> None:
        """Store a new execution with its stages."""
        execution.stored_version = 1
        header = jsonlib.dumpb(execution.header_json())
        conn.execute(ex_t.insert().values(**self._columns(execution), version=1, body=header.decode()))
        execution.stored = {_HEADER: header}
        execution.stored_positions = {}
        execution.stored_revision = 1
        inserts, _ = self._stage_rows(execution, execution.stages, True)
        for row in inserts:
            row["revision"] = 1
        if inserts:
            conn.execute(st_t.insert(), inserts)
        execution.stored_structure = execution.structure()

    def save(self, conn: Connection, execution: Execution, changed: Iterable[Stage] | None = None) -> None:
        """Write what changed since load/insert; raise ConcurrentModification on a lost update.

        ``changed``: the stages the caller changed. Stages added, removed or moved are found from
        the stage list's change count, so only these (and new ones) are serialised; None compares
        every stage. Every write moves the execution's version, which is how a cached copy knows
        it is still current."""
        moved = execution.structure_changed_since(execution.stored_structure)
        removed: list[str] = []
        if moved:
            present = {s.id for s in execution.stages}
            removed = [sid for sid in execution.stored if sid != _HEADER and sid not in present]
        candidates = execution.stages if changed is None else changed
        inserts, updates = self._stage_rows(execution, candidates, moved)
        header = jsonlib.dumpb(execution.header_json())
        header_changed = header != execution.stored.get(_HEADER)
        # Removing stages changes no remaining row's revision: the header's version records it.
        if header_changed or removed:
            values: dict[str, object] = {"version": execution.stored_version + 1}
            if header_changed:
                values.update(self._columns(execution), body=header.decode())
            result = conn.execute(
                ex_t.update()
                .where(ex_t.c.id == execution.id, ex_t.c.version == execution.stored_version)
                .values(**values)
            )
            if result.rowcount != 1:
                raise ConcurrentModification(f"execution {execution.id} was changed by someone else")
            execution.stored_version += 1
            execution.stored[_HEADER] = header
        if removed:
            conn.execute(st_t.delete().where(st_t.c.id.in_(removed)))
            for sid in removed:
                del execution.stored[sid]
                execution.stored_positions.pop(sid, None)
        if inserts or updates:
            # Under the execution's lock (row lock / SQLite's write lock): no other writer races.
            execution.stored_revision += 1
            for stage_id, row in updates:
                conn.execute(
                    st_t.update()
                    .where(st_t.c.id == stage_id)
                    .values(**row, revision=execution.stored_revision)
                )
            for row in inserts:
                row["revision"] = execution.stored_revision
            if inserts:
                conn.execute(st_t.insert(), inserts)
        execution.stored_structure = execution.structure()
        if self.verify_writes and changed is not None:
            self._verify(execution)

    def _stage_rows(
        self, execution: Execution, candidates: Iterable[Stage], moved: bool
    ) -> tuple[list[dict[str, object]], list[tuple[str, dict[str, object]]]]:
        """Rows to insert and to update; records them as stored. With ``moved``, every stage's
        position is checked (and new stages found) as well as the candidates' JSON."""
        inserts: list[dict[str, object]] = []
        updates: list[tuple[str, dict[str, object]]] = []
        stored = execution.stored
        positions = execution.stored_positions
        index = execution.index()
        if moved:
            order = {s.id: i for i, s in enumerate(execution.stages)}
            wanted = {s.id: s for s in candidates}
            for stage in execution.stages:
                if stage.id not in stored:
                    wanted[stage.id] = stage
                elif positions.get(stage.id) != order[stage.id] and stage.id not in wanted:
                    # Synthetic stages inserted before this one moved it: keep the stored order.
                    updates.append((stage.id, {"position": order[stage.id]}))
                    positions[stage.id] = order[stage.id]
            candidates = wanted.values()
        for stage in candidates:
            if index.by_id.get(stage.id) is not stage:
                continue  # removed from the execution since it was marked
            body = jsonlib.dumpb(stage.to_json())
            before = stored.get(stage.id)
            position = positions.get(stage.id) if not moved else None
            if position is None:
                position = execution.stages.index(stage) if not moved else order[stage.id]
            if before == body:
                if positions.get(stage.id) != position:
                    updates.append((stage.id, {"position": position}))
                    positions[stage.id] = position
                continue
            row: dict[str, object] = {
                "id": stage.id,
                "execution_id": execution.id,
                "position": position,
                "ref_id": stage.ref_id,
                "status": stage.status.value,
                "body": body.decode(),
            }
            if before is None:
                inserts.append(row)
            else:
                updates.append((stage.id, row))
            stored[stage.id] = body
            positions[stage.id] = position
        return inserts, updates

    def _verify(self, execution: Execution) -> None:
        """Fail if a stage changed without being marked changed (a write that would be lost)."""
        for stage in execution.stages:
            if jsonlib.dumpb(stage.to_json()) != execution.stored.get(stage.id):
                raise AssertionError(
                    f"stage {stage.ref_id or stage.id} of execution {execution.id} changed "
                    "but was not marked changed"
                )

    @staticmethod
    def _columns(execution: Execution) -> dict[str, object]:
        return {
            "id": execution.id,
            "type": execution.type,
            "application": execution.application,
            "pipeline_config_id": execution.pipeline_config_id,
            "name": execution.name,
            "status": execution.status.value,
            "build_time": execution.build_time,
            "start_time": execution.start_time,
            "end_time": execution.end_time,
            "canceled": execution.canceled,
            "correlation_id": execution.trigger.get("correlationId") or None,
        }

    def delete(self, conn: Connection, execution_id: str) -> bool:
        """Remove an execution and its stages; False if it did not exist."""
        conn.execute(st_t.delete().where(st_t.c.execution_id == execution_id))
        return bool(conn.execute(ex_t.delete().where(ex_t.c.id == execution_id)).rowcount)

    # -- reads -----------------------------------------------------------------------------------

    def load(self, conn: Connection, execution_id: str, *, for_update: bool = False) -> Execution:
        """Read one execution with its stages; ``for_update`` locks its row (PostgreSQL)."""
        query = sa.select(ex_t.c.body, ex_t.c.version).where(ex_t.c.id == execution_id)
        if for_update and self._for_update:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise ExecutionNotFound(execution_id)
        stage_rows = conn.execute(
            sa.select(st_t.c.id, st_t.c.body, st_t.c.revision)
            .where(st_t.c.execution_id == execution_id)
            .order_by(st_t.c.position)
        ).all()
        return self._build(row.body, row.version, stage_rows)

    def refresh(self, conn: Connection, execution: Execution, revision: tuple[int, int]) -> Execution | None:
        """Bring a copy read earlier up to ``revision`` (from ``revision_of``, under the row lock)
        by reading only the stage rows written since; None when it cannot be (the header moved, or
        stages were added or moved): read the execution again then."""
        version, highest = revision
        if version != execution.stored_version:
            return None
        if highest == execution.stored_revision:
            return execution
        rows = conn.execute(
            sa.select(st_t.c.id, st_t.c.body, st_t.c.revision, st_t.c.position).where(
                st_t.c.execution_id == execution.id, st_t.c.revision > execution.stored_revision
            )
        ).all()
        index = execution.index()
        for row in rows:
            if row.id not in index.by_id or execution.stored_positions.get(row.id) != row.position:
                return None
        refreshed = [(index.by_id[row.id], Stage.from_json(jsonlib.loads(row.body)), row) for row in rows]
        for current, fresh, _ in refreshed:
            if _shape(current) != _shape(fresh):
                return None  # its place in the graph changed: the index must be built again
        for current, fresh, row in refreshed:
            for name in _STAGE_FIELDS:
                setattr(current, name, getattr(fresh, name))  # status through its setter: counts stay
            execution.stored[row.id] = row.body.encode()
        execution.stored_revision = highest
        return execution

    def revision_of(
        self, conn: Connection, execution_id: str, *, for_update: bool = False
    ) -> tuple[int, int] | None:
        """(header version, highest stage revision): they move whenever the execution is written,
        whoever writes it. None if absent; ``for_update`` locks its row (PostgreSQL)."""
        query = sa.select(ex_t.c.version).where(ex_t.c.id == execution_id)
        if for_update and self._for_update:
            query = query.with_for_update()
        version = conn.execute(query).scalar()
        if version is None:
            return None
        # A statement of its own, after the lock is held: it sees what the last holder committed.
        revision = conn.execute(
            sa.select(sa.func.max(st_t.c.revision)).where(st_t.c.execution_id == execution_id)
        ).scalar()
        return int(version), int(revision or 0)

    def find(self, conn: Connection, execution_id: str) -> Execution | None:
        """Like load, but None when absent."""
        try:
            return self.load(conn, execution_id)
        except ExecutionNotFound:
            return None

    def _build(self, body: str, version: int, stage_rows: Sequence[Any]) -> Execution:
        data = jsonlib.loads(body)
        data["stages"] = [jsonlib.loads(r.body) for r in stage_rows]
        execution = Execution.from_json(data)
        execution.stored_version = version
        execution.stored = {_HEADER: body.encode()}
        execution.stored_positions = {r.id: i for i, r in enumerate(stage_rows)}
        for r in stage_rows:
            execution.stored[r.id] = r.body.encode()
        execution.stored_structure = execution.structure()
        execution.stored_revision = max((int(r.revision) for r in stage_rows), default=0)
        return execution

    def status_of(self, conn: Connection, execution_id: str) -> ExecutionStatus | None:
        """Just the status column (cheap)."""
        value = conn.execute(sa.select(ex_t.c.status).where(ex_t.c.id == execution_id)).scalar()
        return None if value is None else ExecutionStatus(value)

    def id_for_correlation(self, conn: Connection, correlation_id: str) -> str | None:
        """The execution started with this trigger correlationId, if any."""
        return conn.execute(sa.select(ex_t.c.id).where(ex_t.c.correlation_id == correlation_id)).scalar()

    def count(self, conn: Connection, *, pipeline_config_id: str, statuses: Iterable[ExecutionStatus]) -> int:
        """How many executions of a config are in any of these statuses."""
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(ex_t)
                .where(
                    ex_t.c.pipeline_config_id == pipeline_config_id,
                    ex_t.c.status.in_([s.value for s in statuses]),
                )
            ).scalar_one()
        )

    def list_ids(self, conn: Connection, query: ExecutionQuery) -> list[str]:
        """Ids matching the query, newest first (by buildTime)."""
        stmt = sa.select(ex_t.c.id)
        if query.application is not None:
            stmt = stmt.where(ex_t.c.application == query.application)
        if query.type is not None:
            stmt = stmt.where(ex_t.c.type == query.type)
        if query.pipeline_config_ids is not None:
            stmt = stmt.where(ex_t.c.pipeline_config_id.in_(list(query.pipeline_config_ids)))
        if query.execution_ids is not None:
            stmt = stmt.where(ex_t.c.id.in_(list(query.execution_ids)))
        if query.statuses:
            stmt = stmt.where(ex_t.c.status.in_([str(s).upper() for s in query.statuses]))
        if query.built_after is not None:
            stmt = stmt.where(ex_t.c.build_time >= query.built_after)
        if query.built_before is not None:
            stmt = stmt.where(ex_t.c.build_time < query.built_before)
        stmt = stmt.order_by(ex_t.c.build_time.desc(), ex_t.c.id.desc()).limit(query.limit)
        return [r[0] for r in conn.execute(stmt)]

    def search(self, conn: Connection, query: ExecutionQuery) -> list[Execution]:
        """Executions matching the query with their stages, newest first."""
        ids = self.list_ids(conn, query)
        return self.load_many(conn, ids)

    def load_many(self, conn: Connection, ids: Sequence[str]) -> list[Execution]:
        """Several executions in two queries, in the order of ``ids``."""
        if not ids:
            return []
        headers = {
            r.id: r
            for r in conn.execute(sa.select(ex_t.c.id, ex_t.c.body, ex_t.c.version).where(ex_t.c.id.in_(ids)))
        }
        by_execution: dict[str, list[Any]] = {i: [] for i in ids}
        for r in conn.execute(
            sa.select(st_t.c.execution_id, st_t.c.id, st_t.c.body, st_t.c.revision)
            .where(st_t.c.execution_id.in_(ids))
            .order_by(st_t.c.execution_id, st_t.c.position)
        ):
            by_execution[r.execution_id].append(r)
        return [
            self._build(headers[i].body, headers[i].version, by_execution[i]) for i in ids if i in headers
        ]
