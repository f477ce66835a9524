"""Throttling of failed sign-ins: a sliding window of failures per user name and per client address.

Once a key has had its allowance of failures within the window, further attempts for it are
refused (429 with Retry-After) without checking the password, so guessing costs the server
nothing and the guesser time. Successful sign-ins are not counted. The record lives in the API
process: each API process throttles on its own (a deployment of N processes allows N times the
failures; the window still bounds the rate).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque

from gennaker.clock import Clock

#: Keys remembered at most (the oldest are forgotten first), so a flood of made-up user names
#: cannot grow the record without bound.
_MAX_KEYS = 10_000


class FailureThrottle:
    """Counts failures per key within ``window_seconds`` on the injected clock."""

    def __init__(self, clock: Clock, window_seconds: float) -> None:
        self.clock = clock
        self.window = window_seconds
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _now(self) -> float:
        return self.clock.now_ms() / 1000.0

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, key: str, allowed: int) -> int | None:
        """Seconds until ``key`` may try again, or None when it has failures left."""
        now = self._now()
        times = self._recent(key, now)
        if times is None or len(times) < allowed:
            return None
        # The attempt that frees a place is the one ``allowed`` failures back from the newest.
        frees_at = times[-allowed] + self.window
        return max(1, math.ceil(frees_at - now))

    def record(self, key: str) -> None:
        """Count one failure for ``key``."""
        now = self._now()
        times = self._recent(key, now)
        if times is None:
            times = deque()
            self._failures[key] = times
        times.append(now)
        self._failures.move_to_end(key)
        while len(self._failures) > _MAX_KEYS:
            self._failures.popitem(last=False)
