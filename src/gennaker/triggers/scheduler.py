"""The scheduler role: ``run_scheduler(services, stop_event)`` runs until ``stop_event`` is set.

Every round (about once a second) it does, each guarded so that one failing part never stops the
others:

- ``echo.cron``: fire the cron triggers that are due (under a lease: one process fires);
- ``igor.docker``: poll the Docker registries that are due (under a lease);
- ``echo.dispatcher``: walk the event outbox, starting pipeline-triggered pipelines and queueing
  notifications (under a lease);
- ``gennaker.gitops``: sync the gitops repositories that are due or asked for (under a lease);
- send the notifications that are due (no lease: deliveries are claimed row by row, so every
  scheduler process may send);
- run the cloud providers' agents that are due (each under its own lease: the local provider's
  supervisors, one caching agent per account; see gennaker.providers.agents).

Any number of scheduler processes may run against one database; leases move to another process
when their holder stops renewing them (``LEASE_TTL_MS``), and every action is idempotent besides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx

from gennaker import events
from gennaker.db import is_outage, outage_summary
from gennaker.events import EventRecord
from gennaker.gitops import state as gitops_state
from gennaker.gitops.sync import Gitops
from gennaker.model.execution import Execution
from gennaker.notify import planner
from gennaker.notify.sender import NotificationSender
from gennaker.providers.agents import AgentRunner
from gennaker.triggers import pipeline
from gennaker.triggers.config_cache import ConfigCache
from gennaker.triggers.cron import CronFirer
from gennaker.triggers.dispatcher import Dispatcher
from gennaker.triggers.docker import DockerPoller
from gennaker.triggers.lease import RoleLease

if TYPE_CHECKING:
    from gennaker.services import Services

log = logging.getLogger(__name__)
LEASE_TTL_MS = 30_000
INTERVAL_S = 1.0
ROLES = ("echo.cron", "igor.docker", "echo.dispatcher", "gennaker.gitops")
#: Old events are deleted at most this often, in short transactions of a few thousand rows.
PRUNE_INTERVAL_MS = 60_000
PRUNE_MAX_PER_ROUND = 50_000
#: While the database is unreachable a role is tried again after 1 s, 2 s, 4 s ... up to a minute.
OUTAGE_BACKOFF_MS = 1_000
OUTAGE_BACKOFF_MAX_MS = 60_000


def default_holder() -> str:
    """This process's name in ``role_leases``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Scheduler:
    """One scheduler process's roles; call ``run_once`` per round and ``aclose`` at the end."""

    def __init__(
        self,
        services: Services,
        *,
        holder: str | None = None,
        client: httpx.AsyncClient | None = None,
        lease_ttl_ms: int = LEASE_TTL_MS,
    ) -> None:
        self.services = services
        self.holder = holder or default_holder()
        self._own_client = client is None
        self.client = client or httpx.AsyncClient(trust_env=False, follow_redirects=False)
        self.configs = ConfigCache(services)
        self.cron = CronFirer(services)
        self.docker = DockerPoller(services, self.client)
        self.sender = NotificationSender(services)
        self.dispatcher = Dispatcher(services, [self._pipeline_triggers, self._notifications])
        self.agents = AgentRunner(services.clouddriver, services.db, services.clock, self.holder)
        self.gitops = Gitops(services)
        self._next_prune_at = 0
        #: role -> (failed attempts in a row, when to try again): an outage is reported once.
        self._outages: dict[str, tuple[int, int]] = {}
        self.leases = {
            name: RoleLease(services.db, services.clock, name, self.holder, ttl_ms=lease_ttl_ms)
            for name in ROLES
        }

    # -- dispatcher actions ----------------------------------------------------------------------

    def _pipeline_triggers(self, event: EventRecord, load: Callable[[str], Execution | None]) -> None:
        if event.type in pipeline.ENDED:
            pipeline.on_event(self.services, event, self.configs.candidates("pipeline"), load)

    def _notifications(self, event: EventRecord, load: Callable[[str], Execution | None]) -> None:
        planner.plan(self.services, event, load)

    # -- rounds ----------------------------------------------------------------------------------

    async def run_once(self) -> dict[str, Any]:
        """One round of every role this process holds (or may take)."""
        done: dict[str, Any] = {}
        done["cron"] = await self._role("echo.cron", lambda: asyncio.to_thread(self._cron))
        done["docker"] = await self._role("igor.docker", self._docker)
        done["dispatched"] = await self._role("echo.dispatcher", lambda: asyncio.to_thread(self._dispatch))
        done["notifications"] = await self._guard("notifications", self.sender.run_once)
        done["agents"] = await self._guard("agents", self.agents.run_once)
        if self.gitops.settings.repositories:
            done["gitops"] = await self._role("gennaker.gitops", lambda: asyncio.to_thread(self._gitops))
        return done

    def _dispatch(self) -> int:
        handled = self.dispatcher.run_once()
        now = self.services.clock.now_ms()
        if now >= self._next_prune_at:
            self._next_prune_at = now + PRUNE_INTERVAL_MS
            self.prune_events()
        return handled

    def prune_events(self) -> int:
        """Delete events past ``[events] retention_days`` that the dispatcher has acted on."""
        cutoff = self.services.clock.now_ms() - int(self.services.settings.events.retention_days * 86_400_000)
        position = self.dispatcher.position()
        total = 0
        while True:
            with self.services.db.transaction() as conn:
                deleted = events.prune(conn, before_ts=cutoff, up_to_id=position)
            total += deleted
            if deleted == 0 or total >= PRUNE_MAX_PER_ROUND:
                break
        if total:
            log.info(
                "deleted %d event(s) older than %g days", total, self.services.settings.events.retention_days
            )
        return total

    def _gitops(self) -> int:
        with self.services.db.read() as conn:
            names = gitops_state.due(conn, self.gitops.settings, self.services.clock.now_ms())
        for name in names:
            self.gitops.sync(name, reason="scheduled")
        return len(names)

    def _cron(self) -> int:
        return len(self.cron.tick(self.configs.candidates("cron")))

    async def _docker(self) -> int:
        if not self.docker.accounts:
            return 0  # no registry is configured: no trigger can be polled
        candidates = await asyncio.to_thread(self.configs.candidates, "docker")
        return len(await self.docker.run_once(candidates))

    async def _role(self, name: str, work: Callable[[], Awaitable[Any]]) -> Any:
        if self._backing_off(name):
            return None
        lease = self.leases[name]
        try:
            # A fresh lease needs no query, so no thread hop either (most rounds, when idle).
            held = lease.fresh() or await asyncio.to_thread(lease.acquire)
        except Exception as exc:
            self._failed(name, exc, "cannot take its lease")
            return None
        if not held:
            self._recovered(name)
            return None
        return await self._guard(name, work)

    async def _guard(self, name: str, work: Callable[[], Awaitable[Any]]) -> Any:
        if self._backing_off(name):
            return None
        try:
            result = await work()
        except Exception as exc:
            self._failed(name, exc, "failed this round")
            return None
        self._recovered(name)
        return result

    # -- database outages: one warning per role, backoff, one line on recovery --------------------

    def _backing_off(self, name: str) -> bool:
        outage = self._outages.get(name)
        return outage is not None and self.services.clock.now_ms() < outage[1]

    def _failed(self, name: str, exc: Exception, what: str) -> None:
        if not is_outage(exc):
            log.error("scheduler role %s %s", name, what, exc_info=exc)
            return
        failures = self._outages[name][0] + 1 if name in self._outages else 1
        delay_ms = min(OUTAGE_BACKOFF_MS * 2 ** (failures - 1), OUTAGE_BACKOFF_MAX_MS)
        self._outages[name] = (failures, self.services.clock.now_ms() + delay_ms)
        if failures == 1:
            log.warning(
                "scheduler role %s: the database is unavailable (%s); retrying with backoff (up to %d s)",
                name,
                outage_summary(exc),
                OUTAGE_BACKOFF_MAX_MS // 1000,
            )
        else:
            log.debug("scheduler role %s: still no database (attempt %d)", name, failures)

    def _recovered(self, name: str) -> None:
        outage = self._outages.pop(name, None)
        if outage is not None:
            log.info(
                "scheduler role %s: the database is reachable again (after %d failed attempt(s))",
                name,
                outage[0],
            )

    async def aclose(self) -> None:
        """Give up the leases and close the HTTP client."""
        for lease in self.leases.values():
            with contextlib.suppress(Exception):
                await asyncio.to_thread(lease.release)
        await self.agents.aclose()
        await self.sender.aclose()
        if self._own_client:
            await self.client.aclose()


async def run_scheduler(
    services: Services, stop_event: asyncio.Event, *, interval_s: float = INTERVAL_S
) -> None:
    """Run the scheduler role until ``stop_event`` is set (``gennaker up`` / ``gennaker scheduler``).

    Raises ConfigError at once when the ``[notifications]`` or ``[docker]`` settings are invalid."""
    scheduler = Scheduler(services)
    log.info("scheduler %s started", scheduler.holder)
    try:
        while not stop_event.is_set():
            await scheduler.run_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), timeout=interval_s)
    finally:
        await scheduler.aclose()
        log.info("scheduler %s stopped", scheduler.holder)


def run_once_sync(services: Services, *, holder: str = "test-scheduler") -> dict[str, Any]:
    """One scheduler round outside an event loop (tests and scripts)."""

    async def once() -> dict[str, Any]:
        scheduler = Scheduler(services, holder=holder)
        try:
            return await scheduler.run_once()
        finally:
            await scheduler.aclose()

    return asyncio.run(once())
