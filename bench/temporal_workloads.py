"""bench/compare.py's workloads as Temporal workflows (imported only when temporalio is installed)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow

TIMEOUT = timedelta(seconds=60)


@activity.defn(name="step")
async def step(ref: str) -> str:
    """A step that does nothing: what is measured is the orchestration around it."""
    return ref


@workflow.defn(name="Linear", sandboxed=False)
class Linear:
    """N local activities in a row (run inside the workflow task, recorded in the history)."""

    @workflow.run
    async def run(self, size: int) -> int:
        for i in range(size):
            await workflow.execute_local_activity(step, str(i), start_to_close_timeout=TIMEOUT)
        return size


@workflow.defn(name="Queued", sandboxed=False)
class Queued:
    """N activities one after the other, each a task on the task queue."""

    @workflow.run
    async def run(self, size: int) -> int:
        for i in range(size):
            await workflow.execute_activity(step, str(i), start_to_close_timeout=TIMEOUT)
        return size


@workflow.defn(name="Fanout", sandboxed=False)
class Fanout:
    """One activity, N-2 activities at once, one activity."""

    @workflow.run
    async def run(self, size: int) -> int:
        await workflow.execute_activity(step, "start", start_to_close_timeout=TIMEOUT)
        middle = [
            workflow.execute_activity(step, f"m{i}", start_to_close_timeout=TIMEOUT)
            for i in range(max(1, size - 2))
        ]
        await asyncio.gather(*middle)
        await workflow.execute_activity(step, "join", start_to_close_timeout=TIMEOUT)
        return size


WORKFLOWS = [Linear, Queued, Fanout]
ACTIVITIES = [step]
