"""What may hold an execution back before it starts: per-pipeline concurrency limits and named locks.

Both are decided inside the transaction that starts the execution, serialised per pipeline config
and per lock name (PostgreSQL advisory transaction locks; SQLite has a single writer), so
simultaneous triggers can never both see a free slot (Spinnaker #1070/#5046 were check-then-act
races).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import sqlalchemy as sa

from gennaker.engine.runtime import HandlerContext
from gennaker.model.execution import PIPELINE, Execution
from gennaker.model.status import ExecutionStatus
from gennaker.store.schema import execution_locks, executions, waiting_executions

_ACTIVE = (ExecutionStatus.RUNNING.value, ExecutionStatus.PAUSED.value)


@dataclass(frozen=True)
class Blocked:
    """Why an execution cannot start now, and under which key it waits."""

    key: str
    reason: str
    holder: str | None = None


def serialize_waiters(ctx: HandlerContext, key: str) -> None:
    """Serialise with everyone who parks under or wakes ``key`` (a config id or ``lock:<name>``),
    so a waiter parked by one transaction is never missed by a wake-up in another."""
    _serialize(ctx, key if key.startswith("lock:") else "config:" + key)


def _serialize(ctx: HandlerContext, key: str) -> None:
    if ctx.conn.dialect.name == "postgresql":
        digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)
        ctx.conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": digest})
        # The lock may have been held by a transaction that ended an execution after this one began:
        # what happens from here on happens after that (SQLite takes its lock before the clock is read).
        ctx.now_ms = max(ctx.now_ms, ctx.services.clock.now_ms())


def concurrency_block(ctx: HandlerContext, execution: Execution) -> Blocked | None:
    """limitConcurrent / maxConcurrentExecutions of the execution's pipeline config."""
    config_id = execution.pipeline_config_id
    if execution.type != PIPELINE or not config_id:
        return None
    limit = 1 if execution.limit_concurrent else execution.max_concurrent_executions
    if limit <= 0:
        return None
    _serialize(ctx, "config:" + config_id)
    ctx.write_changes()  # the count below must see statuses changed earlier in this transaction
    running = (
        ctx.conn.execute(
            sa.select(executions.c.id)
            .where(
                executions.c.pipeline_config_id == config_id,
                executions.c.status.in_(_ACTIVE),
                executions.c.id != execution.id,
            )
            .order_by(executions.c.build_time)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    if len(running) < limit:
        return None
    what = "limitConcurrent" if execution.limit_concurrent else f"maxConcurrentExecutions={limit}"
    return Blocked(
        key=config_id,
        reason=f"waiting: {len(running)} execution(s) of this pipeline running ({what}): {', '.join(running)}",
        holder=running[0],
    )


def lock_names(execution: Execution) -> list[str]:
    """The execution's lock names, sorted (a fixed order avoids deadlocks between takers)."""
    return sorted({str(lock["name"]) for lock in execution.locks if lock.get("name")})


def lock_mode(execution: Execution, name: str) -> str:
    """``oldest_first`` (FIFO, default) or ``newest_first`` for one of the execution's locks."""
    for lock in execution.locks:
        if lock.get("name") == name:
            return str(lock.get("mode") or "oldest_first")
    return "oldest_first"


def acquire_locks(ctx: HandlerContext, execution: Execution) -> Blocked | None:
    """Take every lock of the execution, or none of them."""
    names = lock_names(execution)
    if not names:
        return None
    for name in names:
        _serialize(ctx, "lock:" + name)
    rows = ctx.conn.execute(
        sa.select(execution_locks.c.name, execution_locks.c.execution_id).where(
            execution_locks.c.name.in_(names)
        )
    ).all()
    held = {r.name: r.execution_id for r in rows}
    for name in names:
        holder = held.get(name)
        if holder is not None and holder != execution.id:
            return Blocked(
                key=f"lock:{name}", reason=f"waiting for lock {name} held by {holder}", holder=holder
            )
    missing = [n for n in names if n not in held]
    if missing:
        ctx.conn.execute(
            execution_locks.insert(),
            [{"name": n, "execution_id": execution.id, "acquired_at": ctx.now_ms} for n in missing],
        )
    return None


def release_locks(ctx: HandlerContext, execution: Execution) -> list[str]:
    """Free the execution's locks; returns their names."""
    names = (
        ctx.conn.execute(
            sa.select(execution_locks.c.name).where(execution_locks.c.execution_id == execution.id)
        )
        .scalars()
        .all()
    )
    for name in sorted(names):
        _serialize(ctx, "lock:" + name)
    if names:
        ctx.conn.execute(execution_locks.delete().where(execution_locks.c.execution_id == execution.id))
    return list(names)


def park(ctx: HandlerContext, execution: Execution, blocked: Blocked) -> None:
    """Record that the execution waits under ``blocked.key`` (visible in its JSON).

    An execution that waited before keeps its place in the line (its first queued_at)."""
    since = ctx.conn.execute(
        sa.select(waiting_executions.c.queued_at).where(waiting_executions.c.execution_id == execution.id)
    ).scalar()
    unpark(ctx, execution)
    queued_at = ctx.now_ms if since is None else int(since)
    ctx.conn.execute(
        waiting_executions.insert().values(
            execution_id=execution.id, key=blocked.key, reason=blocked.reason, queued_at=queued_at
        )
    )
    execution.state["waiting"] = {
        "key": blocked.key,
        "reason": blocked.reason,
        "heldBy": blocked.holder,
        "since": queued_at,
    }


def unpark(ctx: HandlerContext, execution: Execution) -> None:
    """Forget that the execution waits."""
    ctx.conn.execute(waiting_executions.delete().where(waiting_executions.c.execution_id == execution.id))
    execution.state.pop("waiting", None)


def waiting_on(ctx: HandlerContext, key: str) -> list[str]:
    """Ids of executions waiting under ``key``, oldest first."""
    return list(
        ctx.conn.execute(
            sa.select(waiting_executions.c.execution_id)
            .where(waiting_executions.c.key == key)
            .order_by(waiting_executions.c.queued_at, waiting_executions.c.execution_id)
        ).scalars()
    )
