"""Crash recovery without waiting for leases: give back what a dead worker process held.

A worker leases messages for ``[worker] lease_seconds`` (two minutes by default, so that slow task
I/O is not taken away from a live worker). A worker killed with SIGKILL cannot give its leases
back, and its messages would wait out the whole lease. Two remedies, both on the queue rows:

- ``gennaker up`` on SQLite is the only process of its database: at start it releases every
  message lease and every role lease there (``release_all``) — whoever held them is gone.
- Otherwise (PostgreSQL, or separate worker processes), each worker keeps a row in
  ``worker_liveness`` alive (``Liveness.beat``, every third of ``[worker] liveness_seconds``).
  Lease tokens start with the holder's name, so when a row has expired, any worker releases that
  holder's leases (``Liveness.reap``) and drops the row; the messages are delivered again at once.

Releasing a lease of a process that is in fact alive but stalled past its liveness row is safe:
its acknowledgement then fails (LeaseLost) and rolls its work back, as when a lease runs out.
"""

from __future__ import annotations

import logging
import os
import socket

import sqlalchemy as sa

from gennaker.clock import Clock
from gennaker.db import Database
from gennaker.store.schema import queue_messages as qm
from gennaker.store.schema import role_leases
from gennaker.store.schema import worker_liveness as wl

log = logging.getLogger(__name__)


def release_all(db: Database, clock: Clock) -> tuple[int, int]:
    """Release every message lease and role lease of the database: (messages, roles) released.

    Only for a process that is alone on its database (``gennaker up`` on SQLite)."""
    now = clock.now_ms()
    with db.transaction() as conn:
        messages = conn.execute(
            qm.update()
            .where(qm.c.lease_token.is_not(None))
            .values(lease_token=None, visible_at=now, pending_at=None)
        ).rowcount
        roles = conn.execute(role_leases.delete()).rowcount
        conn.execute(wl.delete())
    if messages or roles:
        log.info("released %d message lease(s) and %d role lease(s) left by a previous run", messages, roles)
    return int(messages or 0), int(roles or 0)


class Liveness:
    """One worker process's liveness row, and the reaping of other processes' expired rows."""

    def __init__(self, db: Database, clock: Clock, holder: str, *, ttl_ms: int) -> None:
        self.db = db
        self.clock = clock
        self.holder = holder
        self.ttl_ms = ttl_ms
        self._started = clock.now_ms()

    def beat(self) -> None:
        """Create or renew this process's row."""
        now = self.clock.now_ms()
        expires = now + self.ttl_ms
        with self.db.transaction() as conn:
            updated = conn.execute(
                wl.update().where(wl.c.holder == self.holder).values(expires_at=expires)
            ).rowcount
            if not updated:
                conn.execute(
                    wl.insert().values(
                        holder=self.holder,
                        host=socket.gethostname()[:255],
                        pid=os.getpid(),
                        started_at=self._started,
                        expires_at=expires,
                    )
                )

    def reap(self) -> int:
        """Release the leases of every holder whose row has expired; returns messages released."""
        now = self.clock.now_ms()
        with self.db.read() as conn:
            expired = [
                str(r.holder)
                for r in conn.execute(sa.select(wl.c.holder).where(wl.c.expires_at < now)).all()
                if r.holder != self.holder
            ]
        released = 0
        for holder in expired:
            with self.db.transaction() as conn:
                # Re-checked inside the transaction: the holder may have renewed meanwhile.
                gone = conn.execute(wl.delete().where(wl.c.holder == holder, wl.c.expires_at < now)).rowcount
                if not gone:
                    continue
                count = conn.execute(
                    qm.update()
                    .where(qm.c.lease_token.startswith(f"{holder}.", autoescape=True))
                    .values(lease_token=None, visible_at=now, pending_at=None)
                ).rowcount
            released += int(count or 0)
            log.warning(
                "worker %s stopped renewing its liveness row; %d of its message(s) delivered again",
                holder,
                count,
            )
        return released

    def leave(self) -> None:
        """Drop this process's row (on a graceful stop, after its leases were given back)."""
        with self.db.transaction() as conn:
            conn.execute(wl.delete().where(wl.c.holder == self.holder))
