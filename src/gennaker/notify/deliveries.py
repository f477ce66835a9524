"""Notification deliveries: rows of ``notification_deliveries``, queued idempotently, claimed by a
sender, and settled as sent, failed (given up) or skipped (no longer relevant).

A sender claims a due row by moving its ``next_attempt_at`` forward by ``CLAIM_MS`` with a
conditional update, so two senders never send one row at the same time, and a sender that died
mid-send leaves a row that becomes due again by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker.store import json as jsonlib
from gennaker.store.schema import notification_deliveries as d_t

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
SKIPPED = "skipped"
#: How long a claimed delivery stays invisible to other senders.
CLAIM_MS = 120_000


@dataclass(frozen=True)
class Delivery:
    """One notification to send."""

    id: int
    dedup_key: str
    channel: str
    address: str | None
    application: str | None
    execution_id: str | None
    event_type: str
    body: dict[str, Any]
    attempts: int


def enqueue(
    conn: Connection,
    *,
    dedup_key: str,
    channel: str,
    address: str | None,
    application: str | None,
    execution_id: str | None,
    event_type: str,
    body: dict[str, Any],
    now: int,
    due_at: int | None = None,
) -> bool:
    """Queue a delivery unless one with this key exists; True when it was queued now."""
    exists = conn.execute(sa.select(d_t.c.id).where(d_t.c.dedup_key == dedup_key)).first()
    if exists is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(
                d_t.insert().values(
                    dedup_key=dedup_key,
                    channel=channel,
                    address=address,
                    application=application,
                    execution_id=execution_id,
                    event_type=event_type,
                    body=jsonlib.dumps(body),
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=now if due_at is None else due_at,
                    created_at=now,
                    updated_at=now,
                )
            )
    except sa.exc.IntegrityError:
        return False
    return True


def claim_due(conn: Connection, now: int, limit: int) -> list[Delivery]:
    """Claim up to ``limit`` pending deliveries that are due; each claim counts an attempt."""
    rows = conn.execute(
        sa.select(d_t)
        .where(d_t.c.status == PENDING, d_t.c.next_attempt_at <= now)
        .order_by(d_t.c.next_attempt_at, d_t.c.id)
        .limit(limit)
    ).all()
    claimed = []
    for row in rows:
        updated = conn.execute(
            d_t.update()
            .where(d_t.c.id == row.id, d_t.c.status == PENDING, d_t.c.next_attempt_at == row.next_attempt_at)
            .values(next_attempt_at=now + CLAIM_MS, attempts=row.attempts + 1, updated_at=now)
        ).rowcount
        if updated:
            claimed.append(
                Delivery(
                    id=int(row.id),
                    dedup_key=row.dedup_key,
                    channel=row.channel,
                    address=row.address,
                    application=row.application,
                    execution_id=row.execution_id,
                    event_type=row.event_type,
                    body=jsonlib.loads(row.body),
                    attempts=int(row.attempts) + 1,
                )
            )
    return claimed


def settle(conn: Connection, delivery_id: int, status: str, now: int, error: str | None = None) -> None:
    """Mark a delivery sent, failed or skipped."""
    conn.execute(
        d_t.update().where(d_t.c.id == delivery_id).values(status=status, last_error=error, updated_at=now)
    )


def retry_later(conn: Connection, delivery_id: int, at: int, error: str, now: int) -> None:
    """Leave a delivery pending until ``at``."""
    conn.execute(
        d_t.update()
        .where(d_t.c.id == delivery_id)
        .values(next_attempt_at=at, last_error=error, updated_at=now)
    )


def list_for_execution(conn: Connection, execution_id: str) -> list[dict[str, Any]]:
    """Every delivery of an execution, oldest first (for tests and troubleshooting)."""
    rows = conn.execute(sa.select(d_t).where(d_t.c.execution_id == execution_id).order_by(d_t.c.id)).all()
    return [
        {
            "id": r.id,
            "channel": r.channel,
            "address": r.address,
            "eventType": r.event_type,
            "status": r.status,
            "attempts": r.attempts,
            "lastError": r.last_error,
            "body": jsonlib.loads(r.body),
        }
        for r in rows
    ]
