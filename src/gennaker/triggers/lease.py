"""Singleton roles: whoever holds a role's row in ``role_leases`` does the role's work.

A lease lasts ``ttl_ms``; its holder renews it on every round, and any process may take it over
once it has expired (the holder died or stalled). Leases alone cannot rule out two holders acting
at once (a stalled holder may wake after losing its lease), so every role also makes its writes
idempotent: the lease keeps the work in one place, the idempotence keeps it correct.
"""

from __future__ import annotations

import sqlalchemy as sa

from gennaker.clock import Clock
from gennaker.db import Database
from gennaker.store.schema import role_leases as lease_t


class RoleLease:
    """One process's claim on one named role."""

    def __init__(self, db: Database, clock: Clock, name: str, holder: str, *, ttl_ms: int = 30_000) -> None:
        self.db = db
        self.clock = clock
        self.name = name
        self.holder = holder
        self.ttl_ms = ttl_ms
        self._held_until = 0

    def fresh(self) -> bool:
        """Held with more than half its time left: ``acquire`` would return True without a query."""
        return self.clock.now_ms() < self._held_until - self.ttl_ms // 2

    def acquire(self) -> bool:
        """Take or renew the lease; True when this process holds it afterwards.

        A lease with more than half its time left is not renewed (no write every round)."""
        now = self.clock.now_ms()
        if self.fresh():
            return True
        self._held_until = 0
        expires = now + self.ttl_ms
        try:
            with self.db.transaction() as conn:
                query = sa.select(lease_t.c.holder, lease_t.c.expires_at).where(lease_t.c.name == self.name)
                if conn.dialect.name == "postgresql":
                    query = query.with_for_update()
                row = conn.execute(query).first()
                if row is None:
                    conn.execute(
                        lease_t.insert().values(name=self.name, holder=self.holder, expires_at=expires)
                    )
                elif row.holder != self.holder and row.expires_at > now:
                    return False
                else:
                    conn.execute(
                        lease_t.update()
                        .where(lease_t.c.name == self.name)
                        .values(holder=self.holder, expires_at=expires)
                    )
        except sa.exc.IntegrityError:
            return False  # another process inserted the row first; it holds the lease
        self._held_until = expires  # committed: held until then, whatever happens meanwhile
        return True

    def release(self) -> None:
        """Give the lease up (on shutdown), so another process need not wait for it to expire."""
        self._held_until = 0
        with self.db.transaction() as conn:
            conn.execute(lease_t.delete().where(lease_t.c.name == self.name, lease_t.c.holder == self.holder))

    def holder_now(self) -> str | None:
        """Who holds the lease now (None when nobody does)."""
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(lease_t.c.holder, lease_t.c.expires_at).where(lease_t.c.name == self.name)
            ).first()
        if row is None or row.expires_at <= self.clock.now_ms():
            return None
        return str(row.holder)
