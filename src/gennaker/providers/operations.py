"""Idempotent provider operations (Clouddriver's ``clientRequestId`` + task repository).

``submit`` records the operation under its id **before** the provider acts, then runs it and
records the outcome. The same id again returns the recorded outcome without acting; an operation
found still RUNNING (its worker died mid-way) is run again under the same id, and providers make
every step of an operation resumable, so the retried task finishes the same work.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gennaker.clock import Clock
from gennaker.db import Database
from gennaker.providers.cache import InfrastructureCache
from gennaker.providers.protocol import CloudProvider, OperationError, OperationRequest
from gennaker.providers.traffic_guards import TrafficGuards
from gennaker.store.json import dumps, loads
from gennaker.store.schema import provider_operations as ops_t

if TYPE_CHECKING:
    pass

RUNNING, SUCCEEDED, FAILED = "RUNNING", "SUCCEEDED", "FAILED"


def operation_id(attempt: str, operation: str, index: int = 0) -> str:
    """The id of one operation of one attempt of a stage (SHA-256, like Orca's clientRequestId)."""
    return hashlib.sha256(f"{attempt}-{operation}-{index}".encode()).hexdigest()


@dataclass(frozen=True)
class OperationRecord:
    """An operation as recorded: what it was asked, and how it ended."""

    id: str
    cloud_provider: str
    account: str
    operation: str
    application: str | None
    status: str
    description: Mapping[str, Any]
    result: Mapping[str, Any] | None
    error: str | None
    created_at: int
    updated_at: int

    def to_json(self) -> dict[str, Any]:
        """Clouddriver's task JSON (what Orca keeps in ``kato.tasks``)."""
        done = self.status != RUNNING
        history = [{"phase": "ORCHESTRATION", "status": f"Processing op: {self.operation}"}]
        if self.status == SUCCEEDED:
            history.append({"phase": "ORCHESTRATION", "status": "Orchestration completed."})
        elif self.status == FAILED:
            history.append(
                {"phase": "ORCHESTRATION", "status": f"Orchestration failed: {self.operation} | {self.error}"}
            )
        data: dict[str, Any] = {
            "id": self.id,
            "requestId": self.id,
            "startTimeMs": self.created_at,
            "status": {
                "phase": "ORCHESTRATION",
                "status": history[-1]["status"],
                "complete": done,
                "completed": done,
                "failed": self.status == FAILED,
                "retryable": False,
            },
            "history": history,
            "resultObjects": [dict(self.result)] if self.result else [],
        }
        if self.status == FAILED:
            data["resultObjects"] = [
                {"type": "EXCEPTION", "message": self.error, "operation": self.operation}
            ]
            data["exception"] = {"message": self.error}
        return data


def _record(row: Any) -> OperationRecord:
    return OperationRecord(
        id=row.id,
        cloud_provider=row.cloud_provider,
        account=row.account,
        operation=row.operation,
        application=row.application,
        status=row.status,
        description=loads(row.description),
        result=loads(row.result) if row.result else None,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class OperationLog:
    """Records and runs provider operations."""

    def __init__(
        self, db: Database, clock: Clock, cache: InfrastructureCache, *, min_capacity_ratio: float = 0.0
    ) -> None:
        self.db = db
        self.clock = clock
        self.cache = cache
        self.guards = TrafficGuards(db, clock, min_capacity_ratio=min_capacity_ratio)

    def get(self, op_id: str) -> OperationRecord | None:
        """The record of one operation."""
        with self.db.read() as conn:
            row = conn.execute(sa.select(ops_t).where(ops_t.c.id == op_id)).first()
        return _record(row) if row is not None else None

    def _begin(self, provider: CloudProvider, request: OperationRequest) -> OperationRecord:
        now = self.clock.now_ms()
        with self.db.transaction() as conn:
            row = conn.execute(sa.select(ops_t).where(ops_t.c.id == request.operation_id)).first()
            if row is None:
                conn.execute(
                    ops_t.insert().values(
                        id=request.operation_id,
                        cloud_provider=provider.id,
                        account=request.account,
                        operation=request.name,
                        application=request.application,
                        status=RUNNING,
                        description=dumps(dict(request.description)),
                        created_at=now,
                        updated_at=now,
                    )
                )
                row = conn.execute(sa.select(ops_t).where(ops_t.c.id == request.operation_id)).one()
        return _record(row)

    def _finish(self, op_id: str, status: str, result: Mapping[str, Any] | None, error: str | None) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                ops_t.update()
                .where(ops_t.c.id == op_id, ops_t.c.status == RUNNING)
                .values(
                    status=status,
                    result=dumps(dict(result)) if result is not None else None,
                    error=error,
                    updated_at=self.clock.now_ms(),
                )
            )

    async def submit(self, provider: CloudProvider, request: OperationRequest) -> OperationRecord:
        """Record, run (unless already finished under this id), record the outcome, refresh the
        cache of the account. Unexpected errors propagate (the task retries, the op resumes)."""
        record = await asyncio.to_thread(self._begin, provider, request)
        if record.status != RUNNING:
            return record
        description = record.description  # the first request's description wins on a rerun
        run = OperationRequest(
            request.operation_id, record.operation, description, record.account, record.application
        )
        try:
            async with self.guards.guarded(provider, run):
                result = await provider.run(run)
        except OperationError as exc:
            await asyncio.to_thread(self._finish, record.id, FAILED, None, str(exc))
        else:
            await asyncio.to_thread(self._finish, record.id, SUCCEEDED, result, None)
        await self.cache.refresh(provider, record.account)
        found = await asyncio.to_thread(self.get, record.id)
        assert found is not None
        return found
