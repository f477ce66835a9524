"""The injectable clock: everything that reads time takes one, so tests move time instead of sleeping."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """A source of wall-clock time in epoch milliseconds."""

    def now_ms(self) -> int:
        """Current time in milliseconds since the epoch."""
        ...


class SystemClock:
    """The real clock."""

    def now_ms(self) -> int:
        """Current time in milliseconds since the epoch."""
        return time.time_ns() // 1_000_000


class FrozenClock:
    """A clock that moves only when told to; shipped for tests (ours and plugin authors')."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._now = start_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        """The frozen time."""
        with self._lock:
            return self._now

    def advance(self, *, ms: int = 0, seconds: float = 0) -> int:
        """Move time forward and return the new time."""
        with self._lock:
            self._now += ms + int(seconds * 1000)
            return self._now

    def set(self, now_ms: int) -> None:
        """Jump to an absolute time."""
        with self._lock:
            self._now = now_ms
