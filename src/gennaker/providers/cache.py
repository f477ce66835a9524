"""The infrastructure cache: the read model of every provider's accounts, in the database.

A provider's ``refresh(account)`` returns the whole read model of one account; ``refresh`` here
replaces that account's records with it in one transaction (records that disappeared are
deleted), so readers never see half an update. The caching agent does this every few seconds
under a lease; operations do it right after they act.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from gennaker.clock import Clock
from gennaker.db import Database, is_outage
from gennaker.providers.protocol import (
    ACCOUNT_HEALTH,
    CacheRecord,
    CloudProvider,
    ProviderUnavailable,
    RefreshDeferred,
)
from gennaker.store.json import dumps, loads
from gennaker.store.schema import infrastructure_cache as cache_t

log = logging.getLogger(__name__)


class InfrastructureCache:
    """Reads and replaces cached infrastructure documents."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def replace(self, cloud_provider: str, account: str, records: Sequence[CacheRecord]) -> int:
        """Make the cache of ``account`` exactly ``records``; returns how many rows changed."""
        now = self.clock.now_ms()
        wanted = {(r.kind, r.region, r.name): r for r in records}
        changed = 0
        with self.db.transaction() as conn:
            rows = conn.execute(
                sa.select(cache_t.c.kind, cache_t.c.region, cache_t.c.name, cache_t.c.body).where(
                    cache_t.c.cloud_provider == cloud_provider, cache_t.c.account == account
                )
            ).all()
            have = {(r.kind, r.region, r.name): r.body for r in rows}
            for key in have.keys() - wanted.keys():
                conn.execute(
                    cache_t.delete().where(
                        cache_t.c.kind == key[0],
                        cache_t.c.cloud_provider == cloud_provider,
                        cache_t.c.account == account,
                        cache_t.c.region == key[1],
                        cache_t.c.name == key[2],
                    )
                )
                changed += 1
            for key, record in wanted.items():
                body = dumps(dict(record.body))
                if have.get(key) == body:
                    continue
                values = {"application": record.application, "body": body, "updated_at": now}
                if key in have:
                    conn.execute(
                        cache_t.update()
                        .where(
                            cache_t.c.kind == key[0],
                            cache_t.c.cloud_provider == cloud_provider,
                            cache_t.c.account == account,
                            cache_t.c.region == key[1],
                            cache_t.c.name == key[2],
                        )
                        .values(**values)
                    )
                else:
                    conn.execute(
                        cache_t.insert().values(
                            kind=key[0],
                            cloud_provider=cloud_provider,
                            account=account,
                            region=key[1],
                            name=key[2],
                            **values,
                        )
                    )
                changed += 1
        return changed

    async def refresh(self, provider: CloudProvider, account: str) -> int:
        """Read the provider's model of ``account`` and store it; errors are logged, not raised
        (the cache stays as it was and the next round tries again). A database outage is raised: the
        agent runner reports it once, not with a traceback every round."""
        try:
            records = await provider.refresh(account)
            return await asyncio.to_thread(self.replace, provider.id, account, records)
        except RefreshDeferred as exc:
            log.debug("%s", exc)
            return 0
        except ProviderUnavailable as exc:  # an unreachable cluster: one line, no traceback
            log.warning("the cache of %s account %s is not refreshed: %s", provider.id, account, exc)
            try:
                await asyncio.to_thread(self.mark_unavailable, provider.id, account, str(exc))
            except Exception:
                log.debug("cannot record the health of %s", account, exc_info=True)
            return 0
        except Exception as exc:
            if is_outage(exc):
                raise
            log.exception("refreshing the cache of %s account %s failed", provider.id, account)
            return 0

    def mark_unavailable(self, cloud_provider: str, account: str, error: str) -> None:
        """Record that the account's cloud did not answer (its other records stay as they were)."""
        body = dumps({"account": account, "state": "DOWN", "error": error})
        where = (
            cache_t.c.kind == ACCOUNT_HEALTH,
            cache_t.c.cloud_provider == cloud_provider,
            cache_t.c.account == account,
        )
        with self.db.transaction() as conn:
            conn.execute(cache_t.delete().where(*where))
            conn.execute(
                cache_t.insert().values(
                    kind=ACCOUNT_HEALTH,
                    cloud_provider=cloud_provider,
                    account=account,
                    region="",
                    name=account,
                    application=None,
                    body=body,
                    updated_at=self.clock.now_ms(),
                )
            )

    def account_health(self) -> dict[str, dict[str, Any]]:
        """The last recorded health of each account that reports one, by account name."""
        return {str(h["account"]): h for h in self.query(ACCOUNT_HEALTH)}

    def query(
        self,
        kind: str,
        *,
        application: str | None = None,
        account: str | None = None,
        region: str | None = None,
        name: str | None = None,
        cloud_provider: str | None = None,
    ) -> list[dict[str, Any]]:
        """Cached documents of one kind, filtered, ordered by account, region and name."""
        query = sa.select(cache_t.c.body).where(cache_t.c.kind == kind)
        for column, value in (
            (cache_t.c.application, application),
            (cache_t.c.account, account),
            (cache_t.c.region, region),
            (cache_t.c.name, name),
            (cache_t.c.cloud_provider, cloud_provider),
        ):
            if value is not None:
                query = query.where(column == value)
        query = query.order_by(cache_t.c.account, cache_t.c.region, cache_t.c.name)
        with self.db.read() as conn:
            return [loads(r.body) for r in conn.execute(query)]

    def search(self, kinds: Iterable[str], text: str, limit: int) -> list[tuple[str, dict[str, Any]]]:
        """(kind, document) whose name contains ``text`` (case-insensitive), at most ``limit``."""
        pattern = f"%{text.lower()}%"
        query = (
            sa.select(cache_t.c.kind, cache_t.c.body)
            .where(cache_t.c.kind.in_(list(kinds)), sa.func.lower(cache_t.c.name).like(pattern))
            .order_by(cache_t.c.kind, cache_t.c.name)
            .limit(limit)
        )
        with self.db.read() as conn:
            return [(r.kind, loads(r.body)) for r in conn.execute(query)]
