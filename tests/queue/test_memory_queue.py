"""MemoryQueue beyond the shared contract: the messages() helper, thread safety, non-transactionality."""

from __future__ import annotations

import threading
from collections import Counter

from gennaker.clock import FrozenClock
from gennaker.queue import MemoryQueue, QueuedMessage, ScheduledMessage


def msg(name: str) -> QueuedMessage:
    return QueuedMessage(kind=f"kind-{name}", body=f'{{"n":"{name}"}}', fingerprint=name, execution_id="e")


def test_messages_lists_queued_messages_soonest_first(clock: FrozenClock) -> None:
    queue = MemoryQueue(clock)
    now = clock.now_ms()
    queue.push(None, msg("later"), 5000)
    queue.push(None, msg("now"))
    queue.push(None, msg("leased"))
    assert queue.messages()[0] == ScheduledMessage(msg("now"), now)
    leases, _ = queue.lease(1, 1000)
    assert [lease.message.fingerprint for lease in leases] == ["now"]
    listed = queue.messages()
    assert [(m.kind, m.body, m.visible_at) for m in listed] == [
        ("kind-leased", '{"n":"leased"}', now),
        ("kind-later", '{"n":"later"}', now + 5000),
    ]


def test_writes_take_effect_without_a_transaction(clock: FrozenClock) -> None:
    """Documented limitation: there is no commit or rollback to wait for."""
    queue = MemoryQueue(clock)
    woke: list[bool] = []
    queue.add_wakeup(lambda: woke.append(True))
    queue.push(None, msg("a"))
    assert woke == [True]
    assert [m.message for m in queue.messages()] == [msg("a")]


def test_concurrent_workers_never_share_a_message(clock: FrozenClock) -> None:
    queue = MemoryQueue(clock)
    for i in range(2000):
        queue.push(None, msg(str(i)))
    delivered: Counter[str] = Counter()
    lock = threading.Lock()

    def work() -> None:
        while leases := queue.lease(7, 60_000)[0]:
            with lock:
                delivered.update(lease.message.fingerprint for lease in leases)
            for lease in leases:
                queue.ack(None, lease)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(delivered) == 2000 and set(delivered.values()) == {1}
    assert queue.depth() == (0, 0)
