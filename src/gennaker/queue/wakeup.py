"""Wake-ups: tell idle workers at once that a message arrived, instead of letting them poll.

``Wakeups`` holds the in-process callbacks. ``PgListener`` carries wake-ups between processes over
PostgreSQL LISTEN/NOTIFY: the pushing transaction calls ``pg_notify`` (PostgreSQL delivers it at
COMMIT, and drops it on rollback), and a listener in every other process calls its callbacks.
Wake-ups are hints: a lost one costs latency (the worker's timed poll catches up), never a message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

_log = logging.getLogger(__name__)


class Wakeups:
    """A thread-safe list of callbacks, called together by ``fire()``."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def add(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` on every future ``fire()``."""
        with self._lock:
            self._callbacks.append(callback)

    def fire(self) -> None:
        """Call every callback; one that raises is logged and does not stop the others."""
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback()
            except Exception:
                _log.exception("queue wake-up callback %r failed", callback)


class PgListener:
    """LISTENs on one channel over a dedicated autocommit connection and fires on each notification.

    ``run(stop)`` blocks until ``stop`` is set, reconnecting with exponential backoff when the
    connection drops. After every (re)connect it fires once, because notifications sent while it
    was disconnected are lost. Notifications whose payload is ``ignore_payload`` (this process's own
    pushes, already announced in-process) are skipped.
    """

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[tuple[object, ...]]],
        channel: str,
        on_notify: Callable[[], None],
        *,
        ignore_payload: str | None = None,
        poll_seconds: float = 0.5,
        min_backoff: float = 0.1,
        max_backoff: float = 5.0,
    ) -> None:
        self._connect = connect
        self._channel = channel
        self._on_notify = on_notify
        self._ignore = ignore_payload
        self._poll = poll_seconds
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        #: Set while a LISTEN connection is established (tests wait on it).
        self.listening = threading.Event()

    def run(self, stop: threading.Event) -> None:
        """Listen until ``stop`` is set (checked at least every ``poll_seconds``)."""
        # Imported here: only PostgreSQL deployments need the driver (a SQLite start skips ~0.2 s).
        import psycopg
        from psycopg import sql

        backoff = self._min_backoff
        while not stop.is_set():
            connected = False
            try:
                with self._connect() as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    connected = True
                    self.listening.set()
                    self._on_notify()
                    self._listen(conn, stop)
            except psycopg.Error as exc:
                _log.warning("queue listener lost its connection (%s); retrying in %.1fs", exc, backoff)
            except Exception:
                # Anything else is a bug, but a dead listener would silently slow every worker down.
                _log.exception("queue listener failed; retrying in %.1fs", backoff)
            finally:
                self.listening.clear()
            if connected:
                backoff = self._min_backoff
            stop.wait(backoff)  # returns at once when stopping
            backoff = min(backoff * 2, self._max_backoff)

    def _listen(self, conn: psycopg.Connection[tuple[object, ...]], stop: threading.Event) -> None:
        while not stop.is_set():
            # notifies() yields each notification as it arrives and ends after `timeout` seconds,
            # so `stop` is honoured even when nothing comes.
            for notify in conn.notifies(timeout=self._poll):
                if notify.payload != self._ignore:
                    self._on_notify()


class ListenerThread:
    """Runs a ``PgListener`` on a daemon thread until ``stop()``."""

    def __init__(self, listener: PgListener, name: str = "gennaker-queue-listener") -> None:
        self.listener = listener
        self._stop = threading.Event()
        self._thread = threading.Thread(target=listener.run, args=(self._stop,), name=name, daemon=True)

    def start(self) -> None:
        """Start listening in the background."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the listener to stop and wait for it (up to ``timeout`` seconds)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
