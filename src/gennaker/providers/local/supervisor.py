"""The supervisor of one local account (an agent of the scheduler role, under a lease).

Every round it: notices instances whose process exited (Down, restart due after a backoff of 1 s
doubling up to the account's cap), restarts the ones that are due, starts instances an
interrupted creation left without a process, health-checks the running ones when their interval
has passed, rotates their logs, and makes HAProxy serve the current backends (restarting it if it
died). Processes are found again by pid and start time, so a restarted Gennaker adopts the ones
still alive and restarts the ones that died while it was down.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from gennaker.providers.local.account import LocalAccountRuntime
from gennaker.providers.local.health import HealthCheck, next_health, probe
from gennaker.providers.local.state import ACTIVE, EXITED, PENDING, RUNNING, Instance, ServerGroup

log = logging.getLogger(__name__)
#: An instance recorded without a process for this long was left by an interrupted creation.
ORPHAN_AFTER_MS = 30_000


class Supervisor:
    """Keeps one account's instances running and checked."""

    interval_ms = 1_000

    def __init__(self, runtime: LocalAccountRuntime) -> None:
        self.rt = runtime
        self.name = f"local.supervisor.{runtime.account.name}"
        #: When each instance was last checked by this process (the record is written on changes only).
        self._checked: dict[str, int] = {}

    async def run_once(self) -> dict[str, int]:
        """One round; returns what it did."""
        rt = self.rt
        now = rt.clock.now_ms()
        groups = {g.name: g for g in await asyncio.to_thread(rt.state.groups) if g.status == ACTIVE}
        instances = [i for i in await asyncio.to_thread(rt.state.instances) if i.server_group in groups]
        done = {"exited": 0, "started": 0, "checked": 0}
        checks = []
        for instance in instances:
            group = groups[instance.server_group]
            if instance.state == RUNNING:
                before = instance.state
                instance = await asyncio.to_thread(rt.instances.observe, instance, now)
                if instance.state != before:
                    done["exited"] += 1
                    log.warning(
                        "instance %s exited; restarting in %s ms",
                        instance.id,
                        (instance.next_start_at or now) - now,
                    )
                    continue
                if self._due(group, instance, now):
                    checks.append(self._check(group, instance, now))
                await asyncio.to_thread(rt.instances.rotate_logs, instance)
            elif instance.state == EXITED and (instance.next_start_at or 0) <= now:
                await asyncio.to_thread(self._start, group, instance)
                done["started"] += 1
            elif instance.state == PENDING and now - instance.updated_at >= ORPHAN_AFTER_MS:
                await asyncio.to_thread(self._start, group, instance)
                done["started"] += 1
        live = {i.id for i in instances}
        self._checked = {k: v for k, v in self._checked.items() if k in live}
        if checks:
            await asyncio.gather(*checks)
            done["checked"] = len(checks)
        await asyncio.to_thread(rt.traffic.reconcile)
        return done

    def _start(self, group: ServerGroup, instance: Instance) -> None:
        fresh = self.rt.state.instance(instance.id)
        current = self.rt.state.group(group.name)
        if (
            fresh is None
            or fresh.state not in (EXITED, PENDING)
            or current is None
            or current.status != ACTIVE
        ):
            return  # stopped or destroyed since this round read it
        try:
            self.rt.instances.start(group, instance, self.rt.images.get(group.image_id))
        except Exception:
            log.exception("cannot restart instance %s", instance.id)

    def _due(self, group: ServerGroup, instance: Instance, now: int) -> bool:
        check = HealthCheck.from_spec(group.spec.get("healthCheck"))
        last = self._checked.get(instance.id, instance.health.get("checkedAt"))
        return last is None or now - int(last) >= check.interval_ms

    async def _check(self, group: ServerGroup, instance: Instance, now: int) -> None:
        check = HealthCheck.from_spec(group.spec.get("healthCheck"))
        healthy, description = await probe("127.0.0.1", check.port or instance.port, check)
        health = next_health(instance.health, healthy, description, check, now)
        health["consecutiveExits"] = (
            0 if health["state"] == "Up" else instance.health.get("consecutiveExits", 0)
        )
        if health != instance.health:
            await asyncio.to_thread(self.rt.state.update_instance, instance.id, now, health=health)


def summary(result: Any) -> str:
    """A log line for a round's result."""
    return ", ".join(f"{k} {v}" for k, v in (result or {}).items() if v)
