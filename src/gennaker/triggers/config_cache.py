"""The triggerable pipeline configs, re-read only when some config changed.

The scheduler looks at cron and docker triggers every second; parsing every config that often
would be wasteful, so it keeps the list and compares a cheap fingerprint of the configs table
(row count, newest update, sum of revisions: any save, create or delete changes one of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gennaker.store.schema import pipeline_configs as cfg_t
from gennaker.store.schema import pipeline_templates as tpl_t
from gennaker.triggers.common import Candidate, candidates, triggerable_configs

if TYPE_CHECKING:
    from gennaker.services import Services


class ConfigCache:
    """Triggerable configs of one process, refreshed on change."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._fingerprint: tuple[Any, ...] | None = None
        self._configs: list[dict[str, Any]] = []

    def configs(self) -> list[dict[str, Any]]:
        """Every pipeline config that is not disabled and has an enabled trigger."""
        with self.services.db.read() as conn:
            # Templates count too: a templated pipeline inherits its template's triggers.
            fingerprint = (
                *conn.execute(
                    sa.select(
                        sa.func.count(), sa.func.max(cfg_t.c.updated_at), sa.func.sum(cfg_t.c.revision)
                    ).where(cfg_t.c.kind == "pipeline")
                ).one(),
                *conn.execute(sa.select(sa.func.count(), sa.func.max(tpl_t.c.updated_at))).one(),
            )
            if fingerprint != self._fingerprint:
                self._configs = triggerable_configs(self.services, conn)
                self._fingerprint = fingerprint
        return self._configs

    def candidates(self, trigger_type: str) -> list[Candidate]:
        """Enabled triggers of one type."""
        return list(candidates(self.configs(), trigger_type))
