"""Roles a sign-in brought with it (an OpenID Connect provider's roles claim), kept in the database so
that every API process and the workers see them until the user signs in again."""

from __future__ import annotations

import sqlalchemy as sa

from gennaker.clock import Clock
from gennaker.db import Database
from gennaker.store import json as jsonlib
from gennaker.store.schema import user_roles as roles_t


class StoredRoles:
    """Roles recorded per user and source at sign-in."""

    def __init__(self, db: Database, clock: Clock, source: str = "oidc") -> None:
        self.db = db
        self.clock = clock
        self.name = source

    def record(self, user: str, roles: frozenset[str]) -> None:
        """Replace what this source says about the user."""
        with self.db.transaction() as conn:
            conn.execute(
                roles_t.delete().where(roles_t.c.user == user.lower(), roles_t.c.source == self.name)
            )
            conn.execute(
                roles_t.insert().values(
                    user=user.lower(),
                    source=self.name,
                    roles=jsonlib.dumps(sorted(roles)),
                    updated_at=self.clock.now_ms(),
                )
            )

    def roles_for(self, user: str) -> frozenset[str]:
        """The roles of the user's last sign-in through this source."""
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(roles_t.c.roles).where(
                    roles_t.c.user == user.lower(), roles_t.c.source == self.name
                )
            ).first()
        if row is None:
            return frozenset()
        return frozenset(str(r).lower() for r in jsonlib.loads(row.roles))
