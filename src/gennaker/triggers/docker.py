"""``docker`` triggers (Igor's DockerMonitor): poll registries for new tags.

Every repository listed under an account in ``[[docker.accounts]]`` (and every repository an
enabled docker trigger names for that account) is polled every ``poll_interval_seconds``. The
first poll records the tags that exist without triggering; after that, a tag not seen before
starts, once, every pipeline whose trigger has the same ``account`` and ``repository`` and whose
``tag`` regex matches the whole tag (no ``tag``: any tag except ``latest``). The trigger carries
``tag``, ``digest``, ``registry``, ``repository``, ``account`` and the artifact
``{type: docker/image, name: <registry>/<repo>, version: <tag>, reference: <registry>/<repo>:<tag>}``.

A registry that is down or answers garbage is recorded as a ``trigger.error`` event (once until
it recovers) and polled again at the next interval; the other repositories are not affected.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import httpx
import sqlalchemy as sa

from gennaker.store.schema import docker_repositories as repo_t
from gennaker.store.schema import docker_tags as tag_t
from gennaker.triggers import common
from gennaker.triggers.docker_registry import DockerAccount, RegistryClient, RegistryError, docker_settings

if TYPE_CHECKING:
    from gennaker.services import Services

SOURCE = "docker"


def tag_matches(trigger: dict[str, object], tag: str) -> bool:
    """The trigger's ``tag`` pattern (full match) accepts ``tag``; without one, any tag but latest."""
    pattern = str(trigger.get("tag") or "").strip()
    if not pattern:
        return tag != "latest"
    try:
        return re.fullmatch(pattern, tag) is not None
    except re.error:
        return False


class DockerPoller:
    """Polls the configured registries; one ``run_once`` per scheduler round."""

    def __init__(self, services: Services, client: httpx.AsyncClient, *, concurrency: int = 4) -> None:
        self.services = services
        self.accounts = docker_settings(services.settings).accounts
        self.clients = {a.name: RegistryClient(a, client) for a in self.accounts}
        self._limit = asyncio.Semaphore(concurrency)

    async def run_once(self, candidates: Sequence[common.Candidate]) -> list[common.StartResult]:
        """Poll every repository that is due; returns the pipelines started."""
        jobs = []
        for account in self.accounts:
            mine = [c for c in candidates if str(c.trigger.get("account") or "") == account.name]
            repositories = dict.fromkeys(
                [*account.repositories, *(str(c.trigger.get("repository") or "") for c in mine)]
            )
            for repository in repositories:
                if repository:
                    wanted = [c for c in mine if str(c.trigger.get("repository") or "") == repository]
                    jobs.append(self._poll(account, repository, wanted))
        results: list[common.StartResult] = []
        for found in await asyncio.gather(*jobs):
            results += found
        return results

    async def _poll(
        self, account: DockerAccount, repository: str, candidates: list[common.Candidate]
    ) -> list[common.StartResult]:
        now = self.services.clock.now_ms()
        state = await asyncio.to_thread(self._state, account.name, repository)
        if state is not None and state.next_poll_at > now:
            return []
        client = self.clients[account.name]
        next_at = now + int(account.poll_interval_seconds * 1000)
        try:
            async with self._limit:
                tags = await client.tags(repository)
        except RegistryError as exc:
            await asyncio.to_thread(self._failed, account, repository, state, str(exc), next_at)
            return []
        known = await asyncio.to_thread(self._known, account.name, repository)
        new = [t for t in dict.fromkeys(tags) if t not in known]
        results: list[common.StartResult] = []
        if state is not None and state.primed_at is not None:
            for tag in new:
                results += await self._new_tag(client, account, repository, tag, candidates)
        await asyncio.to_thread(self._record, account.name, repository, new, state, next_at)
        return results

    async def _new_tag(
        self,
        client: RegistryClient,
        account: DockerAccount,
        repository: str,
        tag: str,
        candidates: list[common.Candidate],
    ) -> list[common.StartResult]:
        matching = [c for c in candidates if tag_matches(c.trigger, tag)]
        if not matching:
            return []
        try:
            async with self._limit:
                digest = await client.digest(repository, tag)
        except RegistryError:
            digest = None  # the tag is still new; start without a digest rather than not at all
        name = f"{account.registry}/{repository}"
        artifact = {"type": "docker/image", "name": name, "version": tag, "reference": f"{name}:{tag}"}
        results = []
        for candidate in matching:
            problem = common.artifacts_problem(candidate.config, candidate.trigger, [artifact])
            if problem is not None:
                await asyncio.to_thread(
                    common.reject, self.services, candidate, candidate.trigger, source=SOURCE, reason=problem
                )
                continue
            fields = {
                "account": account.name,
                "registry": account.registry,
                "repository": repository,
                "tag": tag,
                "digest": digest,
                "artifacts": [artifact],
                "eventId": common.correlation("docker", account.name, repository, tag),
                "correlationId": common.correlation(
                    "docker", account.name, repository, tag, candidate.config_id, candidate.trigger_key
                ),
            }
            trigger = common.build_trigger(candidate, fields)
            results.append(
                await asyncio.to_thread(common.start, self.services, candidate, trigger, source=SOURCE)
            )
        return results

    # -- state (blocking; run in a thread) -------------------------------------------------------

    def _state(self, account: str, repository: str) -> sa.Row[tuple[object, ...]] | None:
        with self.services.db.read() as conn:
            return conn.execute(
                sa.select(repo_t).where(repo_t.c.account == account, repo_t.c.repository == repository)
            ).first()

    def _known(self, account: str, repository: str) -> set[str]:
        with self.services.db.read() as conn:
            rows = conn.execute(
                sa.select(tag_t.c.tag).where(tag_t.c.account == account, tag_t.c.repository == repository)
            )
            return {str(r.tag) for r in rows}

    def _record(self, account: str, repository: str, new: list[str], state: object, next_at: int) -> None:
        now = self.services.clock.now_ms()
        with self.services.db.transaction() as conn:
            known = self._known_in(conn, account, repository)
            rows = [
                {"account": account, "repository": repository, "tag": t[:255], "digest": None, "seen_at": now}
                for t in new
                if t[:255] not in known
            ]
            if rows:
                conn.execute(tag_t.insert(), rows)
            self._upsert(conn, account, repository, state, next_at, error=None, prime=True)

    def _failed(
        self, account: DockerAccount, repository: str, state: object, error: str, next_at: int
    ) -> None:
        last_error = getattr(state, "last_error", None)
        with self.services.db.transaction() as conn:
            self._upsert(conn, account.name, repository, state, next_at, error=error, prime=False)
        if error != last_error:
            common.record_error(
                self.services, source=SOURCE, reason=error, account=account.name, repository=repository
            )

    @staticmethod
    def _known_in(conn: sa.Connection, account: str, repository: str) -> set[str]:
        rows = conn.execute(
            sa.select(tag_t.c.tag).where(tag_t.c.account == account, tag_t.c.repository == repository)
        )
        return {str(r.tag) for r in rows}

    def _upsert(
        self,
        conn: sa.Connection,
        account: str,
        repository: str,
        state: object,
        next_at: int,
        *,
        error: str | None,
        prime: bool,
    ) -> None:
        now = self.services.clock.now_ms()
        values: dict[str, object] = {"next_poll_at": next_at, "last_error": error, "updated_at": now}
        if prime and getattr(state, "primed_at", None) is None:
            values["primed_at"] = now
        where = (repo_t.c.account == account, repo_t.c.repository == repository)
        if conn.execute(repo_t.update().where(*where).values(**values)).rowcount == 0:
            conn.execute(repo_t.insert().values(account=account, repository=repository, **values))
