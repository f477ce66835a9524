"""The providers' agents: every provider's own agents (the local provider's supervisors) and one
caching agent per account, each under its own lease so that exactly one process runs it, each at
its own interval. The scheduler role runs them; a worker running without the scheduler role runs
them too (run_agents), under the same leases."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from gennaker.clock import Clock
from gennaker.db import Database, is_outage, outage_summary
from gennaker.providers.cache import InfrastructureCache
from gennaker.providers.clouddriver import Clouddriver
from gennaker.providers.protocol import Agent, CloudProvider
from gennaker.triggers.lease import RoleLease

log = logging.getLogger(__name__)
LEASE_TTL_MS = 30_000


class CachingAgent:
    """Writes one account's read model into the infrastructure cache."""

    interval_ms = 3_000

    def __init__(self, provider: CloudProvider, account: str, cache: InfrastructureCache) -> None:
        self.provider = provider
        self.account = account
        self.cache = cache
        self.name = f"{provider.id}.caching.{account}"

    async def run_once(self) -> int:
        """Refresh the account's records."""
        return await self.cache.refresh(self.provider, self.account)


def all_agents(clouddriver: Clouddriver) -> list[Agent]:
    """Every agent of every provider, then a caching agent per account."""
    agents: list[Agent] = []
    for provider in clouddriver.registry:
        agents.extend(provider.agents())
        agents.extend(CachingAgent(provider, a.name, clouddriver.cache) for a in provider.accounts())
    return agents


class AgentRunner:
    """Runs the agents that are due and whose lease this process holds (one call per round)."""

    def __init__(self, clouddriver: Clouddriver, db: Database, clock: Clock, holder: str) -> None:
        self.clock = clock
        self.agents = all_agents(clouddriver)
        self.leases = {a.name: RoleLease(db, clock, a.name, holder, ttl_ms=LEASE_TTL_MS) for a in self.agents}
        self._next: dict[str, int] = {}
        #: Agents that found the database unreachable: reported once, and once when it is back.
        self._down: set[str] = set()

    async def run_once(self) -> dict[str, Any]:
        """One round of the agents that are due."""
        now = self.clock.now_ms()
        due = [a for a in self.agents if self._next.get(a.name, 0) <= now]
        results = await asyncio.gather(*(self._run(a) for a in due))
        for agent in due:
            self._next[agent.name] = now + agent.interval_ms
        return {a.name: r for a, r in zip(due, results, strict=True) if r is not None}

    async def _run(self, agent: Agent) -> Any:
        try:
            lease = self.leases[agent.name]
            if not (lease.fresh() or await asyncio.to_thread(lease.acquire)):
                result = None
            else:
                result = await agent.run_once()
        except Exception as exc:
            if not is_outage(exc):
                log.exception("agent %s failed this round", agent.name)
            elif agent.name not in self._down:
                self._down.add(agent.name)
                log.warning("agent %s: the database is unavailable (%s)", agent.name, outage_summary(exc))
            return None
        if agent.name in self._down:
            self._down.discard(agent.name)
            log.info("agent %s: the database is reachable again", agent.name)
        return result

    async def aclose(self) -> None:
        """Give the leases up."""
        for lease in self.leases.values():
            try:
                await asyncio.to_thread(lease.release)
            except Exception:
                log.debug("cannot release %s", lease.name, exc_info=True)


async def run_agents(
    clouddriver: Clouddriver,
    db: Database,
    clock: Clock,
    stop: asyncio.Event,
    *,
    holder: str,
    interval_s: float = 1.0,
) -> None:
    """Run the providers' agents until ``stop`` is set, in a process without the scheduler role
    (a lone ``gennaker worker``): the same leases as the scheduler's, so whichever processes run,
    exactly one supervises each account and refreshes its cache."""
    runner = AgentRunner(clouddriver, db, clock, holder)
    log.info("provider agents started in %s (%d agents)", holder, len(runner.agents))
    try:
        while not stop.is_set():
            await runner.run_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_s)
    finally:
        await runner.aclose()
