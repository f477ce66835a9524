"""``cron`` triggers: Quartz expressions fired by the scheduler role.

Each trigger's last fired (or deliberately passed) tick lives in ``cron_trigger_state``. Firing a
tick is one transaction: a conditional update of ``last_tick`` from the value read to the tick,
the new execution and its ``trigger.fired`` event. A second scheduler process (or this one after a
restart) that reads the same old value finds the update matching no row and does nothing, and
the correlationId ``cron:<configId>:<triggerId>:<tickMs>`` would refuse a second execution anyway.

Trigger fields: ``cronExpression``; ``cronTimeZone`` (an IANA zone; default the setting
``scheduler.cron_timezone``); ``missedRunPolicy``: what to do with ticks that passed while no
scheduler ran (more than ``MISFIRE_THRESHOLD_MS`` ago): ``skip`` (default; Quartz's "do nothing",
recorded as a ``trigger.skipped`` event) or ``runOnce`` (fire once now for all of them). A trigger
seen for the first time starts counting from that moment. An expression that does not parse, or
can never fire (``0 0 0 30 FEB ?``), is recorded once as a ``trigger.error`` event and never fires.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker import events
from gennaker.store.schema import cron_trigger_state as state_t
from gennaker.triggers import common
from gennaker.triggers.cron_expr import CronError, CronExpression, parse

if TYPE_CHECKING:
    from gennaker.services import Services

#: A tick later than this is a misfire (Quartz's default misfire threshold).
MISFIRE_THRESHOLD_MS = 60_000
POLICIES = ("skip", "runOnce")
SOURCE = "cron"


@dataclass(frozen=True)
class Due:
    """What one trigger should do now: fire ``tick`` (``missed`` when it is a late catch-up), or
    only move ``last_tick`` forward past missed ticks (``tick`` None)."""

    last_tick: int
    tick: int | None
    missed: bool = False


def due(
    expression: CronExpression, zone: ZoneInfo, last_tick: int, now: int, policy: str = "skip"
) -> Due | None:
    """The decision for a trigger whose last tick was ``last_tick``, at ``now`` (None: nothing due)."""
    first = expression.next_after_ms(last_tick, zone)
    if first is None or first > now:
        return None
    horizon = now - MISFIRE_THRESHOLD_MS
    start = first if first > horizon else expression.next_after_ms(horizon, zone)
    if start is not None and start <= now:
        latest = start
        while (following := expression.next_after_ms(latest, zone)) is not None and following <= now:
            latest = following
        return Due(latest, latest)
    if policy == "runOnce":
        return Due(horizon, first, missed=True)
    return Due(horizon, None, missed=True)


def compile_trigger(
    trigger: dict[str, Any], default_zone: str, now: int
) -> tuple[CronExpression, ZoneInfo] | str:
    """The trigger's expression and zone, or why it can never fire."""
    text = trigger.get("cronExpression")
    if not isinstance(text, str) or not text.strip():
        return "the cron trigger has no cronExpression"
    zone_name = str(trigger.get("cronTimeZone") or default_zone)
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"cronTimeZone {zone_name!r} is not a known time zone"
    try:
        expression = parse(text, hash_key=str(trigger.get("id") or ""))
    except CronError as exc:
        return str(exc)
    if expression.next_after_ms(now, zone) is None:
        return f"the cron expression {text!r} can never fire"
    policy = trigger.get("missedRunPolicy")
    if policy is not None and policy not in POLICIES:
        return f"missedRunPolicy {policy!r} must be one of {', '.join(POLICIES)}"
    return expression, zone


class CronFirer:
    """Fires the cron triggers that are due; one call per scheduler round."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._compiled: dict[tuple[str, ...], tuple[CronExpression, ZoneInfo] | str] = {}

    def tick(self, candidates: Sequence[common.Candidate]) -> list[common.StartResult]:
        """Fire what is due now; returns what was started (or found started)."""
        now = self.services.clock.now_ms()
        with self.services.db.read() as conn:
            rows = {(r.config_id, r.trigger_id): r for r in conn.execute(sa.select(state_t))}
        results: list[common.StartResult] = []
        seen: set[tuple[str, str]] = set()
        for candidate in candidates:
            key = (candidate.config_id, candidate.trigger_key)
            seen.add(key)
            results.extend(self._one(candidate, key, rows.get(key), now))
        stale = [key for key in rows if key not in seen]
        if stale:
            with self.services.db.transaction() as conn:
                for config_id, trigger_id in stale:
                    conn.execute(
                        state_t.delete().where(
                            state_t.c.config_id == config_id, state_t.c.trigger_id == trigger_id
                        )
                    )
        return results

    def _one(
        self, candidate: common.Candidate, key: tuple[str, str], row: Any, now: int
    ) -> list[common.StartResult]:
        text = str(candidate.trigger.get("cronExpression") or "")
        compiled = self._compile(candidate, key, now)
        if isinstance(compiled, str):
            if row is None or row.error != compiled:
                self._upsert(key, row, now, text, compiled)
                common.record_error(
                    self.services, source=SOURCE, reason=compiled, application=candidate.config.get("application"),
                    pipelineConfigId=candidate.config_id, triggerId=candidate.trigger_key, cronExpression=text,
                )  # fmt: skip
            return []
        if row is None or row.expression != text or row.error is not None:
            self._upsert(key, row, now, text, None)  # (re)start counting from now
            return []
        expression, zone = compiled
        policy = str(candidate.trigger.get("missedRunPolicy") or "skip")
        decision = due(expression, zone, int(row.last_tick), now, policy)
        if decision is None:
            return []
        if decision.tick is None:
            if self._advance(key, int(row.last_tick), decision.last_tick):
                self._record_skipped(candidate, int(row.last_tick), decision.last_tick, text)
            return []
        trigger = common.build_trigger(
            candidate,
            {
                "cronExpression": text,
                "correlationId": common.correlation(
                    "cron", candidate.config_id, candidate.trigger_key, decision.tick
                ),
                "eventId": common.correlation(
                    "cron", candidate.config_id, candidate.trigger_key, decision.tick
                ),
                **({"missedRun": True} if decision.missed else {}),
            },
        )
        old = int(row.last_tick)
        result = common.start(
            self.services, candidate, trigger, source=SOURCE,
            guard=lambda conn: self._cas(conn, key, old, decision.last_tick),
        )  # fmt: skip
        if result.error is not None:
            self._advance(key, old, decision.last_tick)  # a rejected tick is not retried every second
        return [] if result.duplicate and result.execution_id is None else [result]

    def _compile(
        self, candidate: common.Candidate, key: tuple[str, str], now: int
    ) -> tuple[CronExpression, ZoneInfo] | str:
        trigger = candidate.trigger
        signature = (
            *key,
            str(trigger.get("cronExpression")),
            str(trigger.get("cronTimeZone")),
            str(trigger.get("missedRunPolicy")),
        )
        found = self._compiled.get(signature)
        if found is None:
            found = compile_trigger(trigger, self.services.settings.scheduler.cron_timezone, now)
            self._compiled[signature] = found
        return found

    def _cas(self, conn: Connection, key: tuple[str, str], old: int, new: int) -> bool:
        updated = conn.execute(
            state_t.update()
            .where(state_t.c.config_id == key[0], state_t.c.trigger_id == key[1], state_t.c.last_tick == old)
            .values(last_tick=new, updated_at=self.services.clock.now_ms())
        ).rowcount
        return bool(updated)

    def _advance(self, key: tuple[str, str], old: int, new: int) -> bool:
        with self.services.db.transaction() as conn:
            return self._cas(conn, key, old, new)

    def _upsert(self, key: tuple[str, str], row: Any, now: int, text: str, error: str | None) -> None:
        values = {"last_tick": now, "expression": text[:255], "error": error, "updated_at": now}
        try:
            with self.services.db.transaction() as conn:
                if row is None:
                    conn.execute(state_t.insert().values(config_id=key[0], trigger_id=key[1], **values))
                else:
                    conn.execute(
                        state_t.update()
                        .where(state_t.c.config_id == key[0], state_t.c.trigger_id == key[1])
                        .values(**values)
                    )
        except sa.exc.IntegrityError:
            pass  # another scheduler process inserted it first

    def _record_skipped(self, candidate: common.Candidate, old: int, new: int, text: str) -> None:
        with self.services.db.transaction() as conn:
            events.record(
                conn,
                ts=self.services.clock.now_ms(),
                type_=events.TRIGGER_SKIPPED,
                application=candidate.config.get("application"),
                body={
                    "source": SOURCE,
                    "pipelineConfigId": candidate.config_id,
                    "triggerId": candidate.trigger_key,
                    "cronExpression": text,
                    "reason": "ticks missed while no scheduler ran are not replayed (missedRunPolicy skip)",
                    "missedFrom": old,
                    "missedUntil": new,
                },
            )
