"""``restrictExecutionDuringTimeWindow``: the before-stage a stage gets when it may only run inside
time windows (``restrictedExecutionWindow``: whitelist of hour:minute ranges, ``days`` 1=Sunday..7,
optional jitter). Planned by the engine; waits exactly until the next window opens.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.graph import parent
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage

_DAY = timedelta(days=1)


def _intervals(whitelist: list[Any]) -> list[tuple[time, time | None]]:
    """Same-day [start, end) ranges; a range past midnight splits in two; None end = midnight."""
    out: list[tuple[time, time | None]] = []
    for entry in whitelist:
        if not isinstance(entry, dict):
            continue
        start = time(int(entry.get("startHour", 0)) % 24, int(entry.get("startMin", 0)) % 60)
        end = time(int(entry.get("endHour", 0)) % 24, int(entry.get("endMin", 0)) % 60)
        if end > start:
            out.append((start, end))
        else:
            out.append((start, None))
            if end > time(0, 0):
                out.append((time(0, 0), end))
    return out or [(time(0, 0), None)]


def _spinnaker_day(moment: datetime) -> int:
    return (moment.isoweekday() % 7) + 1  # Sunday=1 ... Saturday=7


def next_window_start(now: datetime, window: dict[str, Any]) -> datetime:
    """``now`` if it is inside a window, else when the next one opens (within two weeks)."""
    intervals = _intervals(list(window.get("whitelist") or []))
    days = {int(d) for d in window.get("days") or []}
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for offset in range(15):
        day = day_start + offset * _DAY
        if days and _spinnaker_day(day) not in days:
            continue
        for start, end in sorted(intervals, key=lambda i: i[0]):
            opens = day.replace(hour=start.hour, minute=start.minute)
            closes = day + _DAY if end is None else day.replace(hour=end.hour, minute=end.minute)
            if opens <= now < closes:
                return now
            if opens > now:
                return opens
    raise ValueError("the execution window never opens (check whitelist and days)")


class WindowTask(BaseTask):
    """RUNNING until the parent's window is open (plus jitter), then SUCCEEDED."""

    pure = True
    timeout_ms: int | None = 7 * 24 * 3600 * 1000

    async def execute(self, run: TaskRun) -> TaskResult:
        """Compare the clock with the windows."""
        if run.context.get("skipRemainingWait") is True:
            return TaskResult.succeeded()
        owner = parent(run.execution, run.stage)
        config = owner.context if owner is not None else run.context
        if owner is not None and owner.context.get("skipRemainingWait") is True:
            return TaskResult.succeeded()
        window = config.get("restrictedExecutionWindow") or {}
        zone_name = run.services.settings.engine.execution_window_timezone
        try:
            zone = ZoneInfo(zone_name)
        except ZoneInfoNotFoundError:
            return TaskResult.terminal(f"unknown execution window time zone {zone_name!r}")
        now_ms = run.now_ms
        jitter_until = run.stage.context.get("jitterUntil")
        if isinstance(jitter_until, int):
            return (
                TaskResult.succeeded()
                if now_ms >= jitter_until
                else TaskResult.running(backoff_ms=jitter_until - now_ms)
            )
        now = datetime.fromtimestamp(now_ms / 1000, zone)
        try:
            opens = next_window_start(now, window)
        except (ValueError, TypeError) as exc:
            return TaskResult.terminal(str(exc))
        if opens > now:
            wait_ms = int((opens - now).total_seconds() * 1000)
            return TaskResult.running({"nextWindowStart": int(opens.timestamp() * 1000)}, backoff_ms=wait_ms)
        jitter = window.get("jitter") or {}
        manual = run.execution.trigger.get("type") == "manual"
        if jitter.get("enabled") and not (jitter.get("skipManual") and manual):
            low = int(jitter.get("minDelay", 0))
            high = max(low, int(jitter.get("maxDelay", low)))
            delay_ms = random.randint(low, high) * 1000
            if delay_ms > 0:
                return TaskResult.running({"jitterUntil": now_ms + delay_ms}, backoff_ms=delay_ms)
        return TaskResult.succeeded()


class ExecutionWindowStage(BaseStage):
    """The synthetic stage that holds its parent until a window opens."""

    type = "restrictExecutionDuringTimeWindow"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """One waiting task."""
        return [TaskSpec("suspendExecutionDuringTimeWindow", "executionWindowTask")]


def register(registry: Registry, settings: Any) -> None:
    """Add the execution-window stage type."""
    registry.add_task("executionWindowTask", WindowTask())
    registry.add_stage(ExecutionWindowStage())
