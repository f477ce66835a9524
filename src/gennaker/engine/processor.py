"""The worker: lease messages, run their handlers, commit or give them back (Orca's QueueProcessor).

Every handler runs in one transaction together with the acknowledgement of its message and the
messages it sends. Immediate follow-up messages for the execution the transaction already holds
are handled in the same transaction (up to ``inline_budget``), which keeps a chain of quick
transitions from paying a queue round-trip each; everything else goes through the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from gennaker.db import DatabaseUnavailable
from gennaker.engine import dead_letters, policy_questions
from gennaker.engine import messages as m
from gennaker.engine.execution_cache import ExecutionCache
from gennaker.engine.handlers import TRANSACTIONAL, cancel_stage, run_task
from gennaker.engine.runtime import HandlerContext
from gennaker.queue.base import DeadLetter, Lease, LeaseLost
from gennaker.store import json as jsonlib
from gennaker.store.schema import events as events_t

if TYPE_CHECKING:
    from gennaker.engine.contracts import EngineServices

log = logging.getLogger(__name__)
T = TypeVar("T")


class Processor:
    """Runs handlers for leased messages until told to stop."""

    def __init__(
        self,
        services: EngineServices,
        *,
        concurrency: int | None = None,
        lease_ms: int | None = None,
        poll_interval_ms: int | None = None,
        inline_budget: int = 64,
        cache: ExecutionCache | None = None,
    ) -> None:
        worker = services.settings.worker
        self.services = services
        self.concurrency = concurrency or worker.concurrency
        self.lease_ms = lease_ms or int(worker.lease_seconds * 1000)
        self.poll_interval_ms = (
            poll_interval_ms or worker.poll_interval_ms or (50 if services.db.is_sqlite else 1_000)
        )
        self.idle_poll_max_ms = max(
            self.poll_interval_ms,
            worker.idle_poll_max_ms or (1_000 if services.db.is_sqlite else 5_000),
        )
        #: Polls in a row that found nothing (the idle poll doubles with each, up to the maximum).
        self._idle_polls = 0
        self.inline_budget = inline_budget
        #: Executions kept between this worker's transactions (see engine/execution_cache.py).
        self.cache = cache if cache is not None else ExecutionCache()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self.handled = 0

    # -- the loop --------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Lease and handle messages until ``stop`` is set; then finish what is in flight."""
        loop = asyncio.get_running_loop()
        self._stop = stop
        self._wake = asyncio.Event()
        wake = self._wake

        def on_push() -> None:
            # Called from whichever thread committed a push, possibly after this loop has ended.
            if not loop.is_closed():
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(wake.set)

        self.services.queue.add_wakeup(on_push)
        self.services.queue.start_listener()
        failures = 0
        while not stop.is_set():
            free = self.concurrency - len(self._in_flight)
            if free <= 0:
                await self._wait_any(stop)
                continue
            # Cleared before looking, so a wake-up that arrives while we look is not lost.
            wake.clear()
            try:
                leases, dead = await asyncio.to_thread(self.services.queue.lease, free, self.lease_ms)
                failures = 0
            except DatabaseUnavailable as exc:
                failures += 1
                delay = min(0.2 * 2**failures, 10.0)
                log.warning("database unavailable (%s); retrying in %.1fs", exc, delay)
                await self._sleep(stop, delay)
                continue
            for letter in dead:
                await self._guard(asyncio.to_thread(self._handle_dead, letter))
            if leases or dead:
                self._idle_polls = 0
            for lease in leases:
                task = asyncio.create_task(self._handle(lease))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            if not leases and not dead:
                await self._idle(stop)
        if self._in_flight:
            await asyncio.wait(self._in_flight)

    async def _idle(self, stop: asyncio.Event) -> None:
        assert self._wake is not None
        backoff = self.poll_interval_ms * 2 ** min(self._idle_polls, 16)
        timeout = min(backoff, self.idle_poll_max_ms) / 1000
        self._idle_polls += 1
        try:
            next_at = await asyncio.to_thread(self.services.queue.next_visible_at)
        except DatabaseUnavailable:
            next_at = None
        if next_at is not None:
            timeout = max(0.0, min(timeout, (next_at - self.services.clock.now_ms()) / 1000))
        if timeout <= 0:
            return
        stopper = asyncio.ensure_future(stop.wait())
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({stopper, waker}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if self._wake.is_set():
                self._idle_polls = 0
        finally:
            stopper.cancel()
            waker.cancel()

    async def _wait_any(self, stop: asyncio.Event) -> None:
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({stopper, *self._in_flight}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()

    @staticmethod
    async def _sleep(stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)

    @staticmethod
    async def _guard(work: Any) -> None:
        try:
            await work
        except Exception:
            log.exception("dead-letter handling failed")

    # -- one message -----------------------------------------------------------------------------

    async def _handle(self, lease: Lease) -> None:
        try:
            message = m.decode(lease.message.body)
        except m.UnknownMessage as exc:
            log.error("dropping undecodable message %s: %s", lease.message.fingerprint, exc)
            await asyncio.to_thread(self._transaction, lease, lambda ctx: None)
            return
        try:
            if isinstance(message, m.RunTask):
                await self._run_task(lease, message)
            elif isinstance(message, m.CancelStage):
                await self._cancel_stage(lease, message)
            elif policy_questions.asks(self.services, message.kind):
                await self._decide(lease, message)
            else:
                handler = TRANSACTIONAL[message.kind]
                await asyncio.to_thread(self._transaction, lease, lambda ctx: handler(ctx, message))
            self.handled += 1
        except LeaseLost:
            log.info("lease on %s lost; another worker has it", message.kind)
        except Exception as exc:
            delay = min(100 * 2 ** min(lease.attempts, 10), 30_000)
            if isinstance(exc, DatabaseUnavailable):
                log.warning("database unavailable handling %s: %s", message.kind, exc)
            else:
                log.exception("handler for %s of execution %s failed", message.kind, message.execution_id)
            await self._give_back(lease, delay)

    async def _give_back(self, lease: Lease, delay_ms: int) -> None:
        """Release a failed delivery. While the database is unreachable, keep trying (backing off)
        until the lease would run out anyway: a message caught in flight by an outage is handled
        again soon after the database returns, not a whole lease later."""
        # Measured on the monotonic clock: an injected clock may stand still.
        deadline = time.monotonic() + max(0, lease.expires_at - self.services.clock.now_ms()) / 1000
        pause = 0.2
        while True:
            try:
                await asyncio.to_thread(self.services.queue.release, lease, delay_ms)
                return
            except DatabaseUnavailable:
                stopping = self._stop is not None and self._stop.is_set()
                if stopping or time.monotonic() + pause >= deadline:
                    return  # the lease running out gives the message back
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
            except Exception:
                log.exception("could not give back %s", lease.message.kind)
                return

    async def _run_task(self, lease: Lease, message: m.RunTask) -> None:
        def prepare(ctx: HandlerContext) -> Any:
            if run_task.is_pure(ctx, message) and run_task.run_inline(ctx, message):
                return None
            return run_task.prepare(ctx, message)

        pending = await asyncio.to_thread(self._transaction, lease, prepare, ack_unless_result=True)
        if pending is None:
            return
        async with self._heartbeat(lease) as current:
            outcome = await run_task.perform(pending)
        # The task is done with the execution it read: if nothing wrote it meanwhile (its version
        # says so), the transaction that applies the result uses it instead of reading it again.
        self.cache.give_back(pending.run.execution)
        await asyncio.to_thread(
            self._transaction, current(), lambda ctx: run_task.apply(ctx, message, pending, outcome)
        )

    async def _cancel_stage(self, lease: Lease, message: m.CancelStage) -> None:
        pending = await asyncio.to_thread(
            self._transaction, lease, lambda ctx: cancel_stage.prepare(ctx, message), ack_unless_result=True
        )
        if pending is None:
            return
        async with self._heartbeat(lease) as current:
            result = await cancel_stage.perform(pending, self.services)
        await asyncio.to_thread(
            self._transaction, current(), lambda ctx: cancel_stage.apply(ctx, message, result)
        )

    async def _decide(self, lease: Lease, message: m.Message) -> None:
        """StartExecution / StartStage while an OPA policy applies: the policy server is asked
        between two transactions (engine/policy_questions.py)."""
        decide = policy_questions.DECIDERS[message.kind]
        question = await asyncio.to_thread(
            self._transaction, lease, lambda ctx: decide(ctx, message, None), ack_unless_result=True
        )
        if question is None:
            return
        async with self._heartbeat(lease) as current:
            answer = await asyncio.to_thread(
                policy_questions.ask, self.services, question, self.services.clock.now_ms()
            )
        await asyncio.to_thread(self._transaction, current(), lambda ctx: decide(ctx, message, answer))

    @contextlib.asynccontextmanager
    async def _heartbeat(self, lease: Lease) -> Any:
        """Keep the lease alive while slow task I/O runs; yields a getter for the current lease."""
        holder = {"lease": lease}

        async def beat() -> None:
            while True:
                await asyncio.sleep(self.lease_ms / 3000)
                holder["lease"] = await asyncio.to_thread(
                    self.services.queue.extend, holder["lease"], self.lease_ms
                )

        beater = asyncio.create_task(beat())
        try:
            yield lambda: holder["lease"]
        finally:
            beater.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await beater

    # -- transactions ----------------------------------------------------------------------------

    def _transaction(
        self, lease: Lease, work: Callable[[HandlerContext], T], *, ack_unless_result: bool = False
    ) -> T:
        """Run ``work`` and its inline follow-ups in one transaction with the ack of ``lease``.

        With ``ack_unless_result``, a non-None result means "work continues outside": the message
        stays leased and nothing is written."""
        services = self.services
        ctx: HandlerContext | None = None
        try:
            with services.db.transaction() as conn:
                ctx = HandlerContext(conn, services, services.clock.now_ms(), cache=self.cache)
                result = work(ctx)
                if ack_unless_result and result is not None:
                    if ctx.pushes or ctx.events or ctx._dirty:
                        raise RuntimeError("a handler that continues outside a transaction must not write")
                    # What it read stays with the work outside (not shared with another thread).
                    return result
                services.queue.ack(conn, lease)
                self._flush(ctx, lease.message.execution_id)
                ctx.keep()
            return result
        except BaseException:
            if ctx is not None:
                ctx.discard()  # a transaction that rolled back must not leave its changes cached
            raise

    def _flush(self, ctx: HandlerContext, owner: str | None) -> None:
        """Send what the handlers pushed; handle inline the immediate ones for ``owner``, the
        execution this transaction is about (None: handle nothing inline).

        Never another execution's, even one the transaction loaded (StartWaitingExecutions loads the
        waiter it starts): a handler that keeps failing for that execution would fail this one's
        transaction with it, and each would be dead-lettered for the other's fault."""
        pending = deque(ctx.pushes)
        ctx.pushes = []
        budget = self.inline_budget if owner is not None else 0
        queue = self.services.queue
        while pending:
            push = pending.popleft()
            message = push.message
            if (
                budget > 0
                and push.mode == "push"
                and push.delay_ms == 0
                and message.execution_id == owner
                and owner in ctx._loaded
                and self._inline(ctx, message)
            ):
                budget -= 1
                pending.extend(ctx.pushes)
                ctx.pushes = []
                continue
            queued = message.queued()
            if push.mode == "ensure":
                queue.ensure(ctx.conn, queued, push.delay_ms)
            elif push.mode == "reschedule":
                queue.reschedule(ctx.conn, queued, push.delay_ms)
            else:
                queue.push(ctx.conn, queued, push.delay_ms)
        ctx.write_changes()
        if ctx.events:
            ctx.conn.execute(
                events_t.insert(),
                [
                    {
                        "ts": ctx.now_ms,
                        "type": e.type,
                        "application": e.application,
                        "execution_id": e.execution_id,
                        "body": jsonlib.dumps(e.body),
                    }
                    for e in ctx.events
                ],
            )
            if ctx.conn.dialect.name == "postgresql":  # live updates in other processes (api/routes/stream)
                ctx.conn.execute(sa.text("SELECT pg_notify('gennaker_events', '')"))
            ctx.events = []

    def _inline(self, ctx: HandlerContext, message: m.Message) -> bool:
        """Handle ``message`` in the current transaction if it needs no I/O; False to queue it."""
        if isinstance(message, m.RunTask):
            return run_task.is_pure(ctx, message) and run_task.run_inline(ctx, message)
        if policy_questions.asks(self.services, message.kind):
            # A question for a policy server (nothing written yet): queued, asked when delivered.
            return policy_questions.DECIDERS[message.kind](ctx, message, None) is None
        handler = TRANSACTIONAL.get(message.kind)
        if handler is None:
            return False
        handler(ctx, message)
        return True

    def _handle_dead(self, letter: DeadLetter) -> None:
        try:
            message = m.decode(letter.message.body)
        except m.UnknownMessage:
            log.error("dead message %s cannot be decoded; dropped", letter.message.fingerprint)
            return
        log.error("message %s died after %d deliveries: %s", message.kind, letter.attempts, letter.reason)
        with self.services.db.transaction() as conn:
            ctx = HandlerContext(conn, self.services, self.services.clock.now_ms())
            dead_letters.handle(ctx, message, letter.reason)
            # Queued, never handled inline: if the terminal message fails as well, it is retried and
            # dies on its own (and escalates) instead of rolling this reaction back with it.
            self._flush(ctx, None)


async def drain(processor: Processor, *, clock: Any = None, limit: int = 1_000_000) -> int:
    """Handle messages until none is deliverable; with a FrozenClock ``clock``, move time forward to
    each delayed message instead of waiting for it. Returns how many messages were handled."""
    queue = processor.services.queue
    handled = 0
    while handled < limit:
        leases, dead = await asyncio.to_thread(queue.lease, processor.concurrency, processor.lease_ms)
        for letter in dead:
            await asyncio.to_thread(processor._handle_dead, letter)
        if not leases and not dead:
            if clock is None:
                break
            next_at = await asyncio.to_thread(queue.next_visible_at)
            if next_at is None:
                break
            if next_at > clock.now_ms():
                clock.set(next_at)
            continue
        await asyncio.gather(*(processor._handle(lease) for lease in leases))
        handled += len(leases)
    return handled
