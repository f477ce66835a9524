"""Policies kept in gitops repositories: synced into ``gitops_policies`` with the rest of a
commit, read back here. The table is re-read only when a sync changed it (a cheap fingerprint
query), and only where gitops repositories are configured at all."""

from __future__ import annotations

import json

import sqlalchemy as sa

from gennaker.db import Database
from gennaker.policies.settings import PolicyRule
from gennaker.store.schema import gitops_policies as policies_t


class StoredPolicies:
    """The rules that gitops repositories hold, as of the last sync."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._fingerprint: tuple[object, ...] | None = None
        self._rules: list[PolicyRule] = []

    def rules(self) -> list[PolicyRule]:
        """Every stored rule (re-read when a sync changed them)."""
        with self.db.read() as conn:
            fingerprint = tuple(
                conn.execute(sa.select(sa.func.count(), sa.func.max(policies_t.c.updated_at))).one()
            )
            if fingerprint != self._fingerprint:
                rows = conn.execute(sa.select(policies_t.c.body).order_by(policies_t.c.name))
                self._rules = [PolicyRule.model_validate(json.loads(r.body)) for r in rows]
                self._fingerprint = fingerprint
        return self._rules
