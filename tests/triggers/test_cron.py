"""Cron triggers fired by the scheduler role through the FrozenClock: once per tick whatever the
number of scheduler processes, never twice after a restart, missed ticks skipped (or run once),
expressions that cannot fire recorded as errors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import sqlalchemy as sa

from gennaker import events
from gennaker.clock import FrozenClock
from gennaker.model.status import ExecutionStatus
from gennaker.services import Services
from gennaker.store.schema import cron_trigger_state, role_leases
from gennaker.testing import run_until_idle
from gennaker.triggers.scheduler import Scheduler, run_once_sync, run_scheduler
from tests.triggers.conftest import MakeServices, executions_of, save_pipeline

# 2024-01-01 10:00:30 UTC
T0 = int(datetime(2024, 1, 1, 10, 0, 30, tzinfo=UTC).timestamp() * 1000)
MINUTE = 60_000


def cron_trigger(expression: str = "0 * * * * ?", **fields: object) -> dict[str, object]:
    return {"type": "cron", "enabled": True, "cronExpression": expression, "cronTimeZone": "UTC", **fields}


def clock_of(services: Services) -> FrozenClock:
    assert isinstance(services.clock, FrozenClock)
    return services.clock


def of_type(services: Services, type_: str) -> list[events.EventRecord]:
    with services.db.read() as conn:
        return events.list_events(conn, events.EventQuery(types=(type_,), limit=1000))


def test_fires_once_per_tick_and_runs_the_pipeline(services: Services) -> None:
    clock = clock_of(services)
    clock.set(T0)
    config = save_pipeline(services, triggers=[cron_trigger()])
    run_once_sync(services)  # first sight: start counting from now, fire nothing
    assert executions_of(services, config["id"]) == []
    clock.set(T0 + 30_000)  # 10:01:00, the next tick
    run_once_sync(services)
    run_once_sync(services, holder="another-process")
    run_once_sync(services)
    [execution] = executions_of(services, config["id"])
    trigger_id = config["triggers"][0]["id"]
    tick = T0 + 30_000
    assert execution.trigger["type"] == "cron" and execution.trigger["cronExpression"] == "0 * * * * ?"
    assert execution.trigger["correlationId"] == f"cron:{config['id']}:{trigger_id}:{tick}"
    run_until_idle(services, advance_clock=False)
    with services.db.read() as conn:
        assert services.executions.load(conn, execution.id).status == ExecutionStatus.SUCCEEDED
    clock.set(T0 + 30_000 + MINUTE + 500)  # 10:02:00.5
    run_once_sync(services)
    assert len(executions_of(services, config["id"])) == 2


def test_two_scheduler_processes_fire_each_tick_once(services: Services) -> None:
    """Two Scheduler objects (as two processes would have) take turns; the lease keeps the cron
    role in one, and the state row's conditional update would refuse a second firing anyway."""
    clock = clock_of(services)
    clock.set(T0)
    config = save_pipeline(services, triggers=[cron_trigger()])

    async def rounds() -> None:
        first, second = Scheduler(services, holder="a"), Scheduler(services, holder="b")
        try:
            await asyncio.gather(first.run_once(), second.run_once())  # first sight, at T0
            assert first.leases["echo.cron"].holder_now() in ("a", "b")
            for step in range(5):
                clock.set(T0 + 30_000 + step * MINUTE)
                await asyncio.gather(first.run_once(), second.run_once())
            # "a" stops renewing; once its lease expires "b" takes the role over, with no double fire.
            clock.set(T0 + 30_000 + 5 * MINUTE)
            await second.run_once()
            clock.set(T0 + 30_000 + 6 * MINUTE)
            await second.run_once()
        finally:
            await first.aclose()
            await second.aclose()

    asyncio.run(rounds())
    ticks = sorted(
        e.trigger["correlationId"].rsplit(":", 1)[1] for e in executions_of(services, config["id"])
    )
    assert ticks == [str(T0 + 30_000 + step * MINUTE) for step in range(7)]


def test_restart_does_not_refire_and_missed_ticks_are_skipped(make: MakeServices) -> None:
    services = make()
    clock = clock_of(services)
    hour = 60 * MINUTE
    clock.set(T0)  # 10:00:30
    config = save_pipeline(services, triggers=[cron_trigger("0 0 * * * ?")])
    run_once_sync(services)
    clock.set(T0 + hour - 20_000)  # 11:00:10
    run_once_sync(services)
    run_once_sync(services, holder="after-restart")  # a restarted scheduler sees the tick as done
    assert len(executions_of(services, config["id"])) == 1
    # Everything was down from 11:00 to 14:30: the 12, 13 and 14 o'clock ticks are not replayed.
    clock.set(T0 + 4 * hour + 29 * MINUTE + 30_000)  # 14:30:00
    run_once_sync(services)
    assert len(executions_of(services, config["id"])) == 1
    [skipped] = of_type(services, events.TRIGGER_SKIPPED)
    assert skipped.body["pipelineConfigId"] == config["id"] and "missedRunPolicy" in skipped.body["reason"]
    # Down again over 16:00, back at 17:00:20: the 17:00 tick is on time and fires; 16:00 is dropped.
    clock.set(T0 + 7 * hour - 10_000)
    run_once_sync(services)
    fired = executions_of(services, config["id"])
    assert len(fired) == 2 and fired[0].trigger.get("missedRun") is None
    assert fired[0].trigger["correlationId"].endswith(str(T0 + 7 * hour - 30_000))


def test_missed_run_policy_run_once(sqlite_services: Services) -> None:
    services = sqlite_services
    clock = clock_of(services)
    clock.set(T0)
    config = save_pipeline(services, triggers=[cron_trigger("0 0 * * * ?", missedRunPolicy="runOnce")])
    run_once_sync(services)
    clock.set(T0 + 5 * 60 * MINUTE + 29 * MINUTE + 30_000)  # 15:30: five hourly ticks missed
    run_once_sync(services)
    run_once_sync(services)
    [execution] = executions_of(services, config["id"])
    assert execution.trigger["missedRun"] is True


def test_time_zone_of_the_trigger_and_the_default(make: MakeServices) -> None:
    services = make(scheduler__cron_timezone="America/New_York")
    clock = clock_of(services)
    start = int(datetime(2024, 1, 1, 13, 59, 0, tzinfo=UTC).timestamp() * 1000)  # 08:59 in New York
    clock.set(start)
    default_zone = save_pipeline(
        services, name="ny", triggers=[cron_trigger("0 0 9 * * ?", cronTimeZone=None)]
    )
    utc = save_pipeline(services, name="utc", triggers=[cron_trigger("0 0 9 * * ?")])
    run_once_sync(services)
    clock.set(start + MINUTE)  # 14:00 UTC = 09:00 New York
    run_once_sync(services)
    assert len(executions_of(services, default_zone["id"])) == 1
    assert executions_of(services, utc["id"]) == []


def test_expressions_that_cannot_fire_are_recorded_once(sqlite_services: Services) -> None:
    services = sqlite_services
    clock = clock_of(services)
    clock.set(T0)
    never = save_pipeline(services, name="never", triggers=[cron_trigger("0 0 0 30 FEB ?")])
    broken = save_pipeline(services, name="broken", triggers=[cron_trigger("0 0 25 * * ?")])
    bad_zone = save_pipeline(services, name="zone", triggers=[cron_trigger(cronTimeZone="Mars/Olympus")])
    fine = save_pipeline(services, name="fine", triggers=[cron_trigger()])
    for step in range(3):
        clock.set(T0 + step * MINUTE)
        run_once_sync(services)
    errors = {e.body["pipelineConfigId"]: e.body["reason"] for e in of_type(services, events.TRIGGER_ERROR)}
    assert len(of_type(services, events.TRIGGER_ERROR)) == 3
    assert "can never fire" in errors[never["id"]]
    assert "hours: 25 is outside 0-23" in errors[broken["id"]]
    assert "Mars/Olympus" in errors[bad_zone["id"]]
    assert len(executions_of(services, fine["id"])) == 2
    for config in (never, broken, bad_zone):
        assert executions_of(services, config["id"]) == []


def test_rejected_start_is_recorded_and_not_retried_every_second(sqlite_services: Services) -> None:
    services = sqlite_services
    clock = clock_of(services)
    clock.set(T0)
    config = save_pipeline(
        services, triggers=[cron_trigger()], parameterConfig=[{"name": "version", "required": True}]
    )
    run_once_sync(services)
    clock.set(T0 + 30_000)
    run_once_sync(services)
    clock.set(T0 + 31_000)
    run_once_sync(services)
    assert executions_of(services, config["id"]) == []
    [rejected] = of_type(services, events.TRIGGER_REJECTED)
    assert "version" in rejected.body["reason"]


def test_run_scheduler_loop_fires_and_stops(sqlite_services: Services) -> None:
    """The contract ``gennaker up`` and ``gennaker scheduler`` rely on: an async function that runs
    rounds until the stop event is set, then returns."""
    services = sqlite_services
    clock = clock_of(services)
    clock.set(T0)
    config = save_pipeline(services, triggers=[cron_trigger()])

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_scheduler(services, stop, interval_s=0.01))
        for _ in range(1000):
            await asyncio.sleep(0.01)
            with services.db.read() as conn:
                seen = conn.execute(sa.select(cron_trigger_state.c.last_tick)).scalar()
            if seen is not None:
                clock.set(T0 + 30_000)  # the first round has seen the trigger: make its tick due
            if executions_of(services, config["id"]):
                break
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    asyncio.run(main())
    assert len(executions_of(services, config["id"])) == 1
    with services.db.read() as conn:
        holders = conn.execute(sa.select(role_leases.c.name)).all()
    assert holders == []  # leases are given up on the way out
