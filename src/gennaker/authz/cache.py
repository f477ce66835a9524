"""A user's roles, cached for a short TTL and refreshed in the background (as Fiat syncs them).

Each provider's answer is kept per user with the time it was fetched. When a provider is down, its
last known roles for the user stand in for at most ``stale_roles_max_seconds``; past that the user
has none of that provider's roles (so a directory outage cannot grant forever what was revoked).
``status()`` is what ``/health`` shows.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from gennaker.authz.roles.protocol import RoleProvider, RoleProviderDown
from gennaker.clock import Clock

log = logging.getLogger(__name__)


@dataclass
class _Answer:
    roles: frozenset[str]
    fetched_ms: int


@dataclass
class _Entry:
    answers: dict[str, _Answer] = field(default_factory=dict)
    checked_ms: int = 0
    stale: set[str] = field(default_factory=set)


@dataclass
class _ProviderState:
    down_since_ms: int | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class Roles:
    """A user's roles and where they came from (``stale:<provider>`` for last known roles)."""

    roles: frozenset[str]
    sources: tuple[str, ...]


class RoleCache:
    """Roles per user from every provider, union of their answers."""

    def __init__(
        self,
        providers: Sequence[RoleProvider],
        clock: Clock,
        *,
        ttl_seconds: float,
        stale_max_seconds: float,
        size: int = 10_000,
    ) -> None:
        self.providers = list(providers)
        self.clock = clock
        self.ttl_ms = int(ttl_seconds * 1000)
        self.stale_max_ms = int(stale_max_seconds * 1000)
        self.size = size
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._state = {p.name: _ProviderState() for p in self.providers}
        self._lock = threading.Lock()

    def roles(self, user: str) -> Roles:
        """The user's roles: cached within the TTL, else asked for now."""
        key = user.lower()
        now = self.clock.now_ms()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is None or now - entry.checked_ms >= self.ttl_ms:
            entry = self._refresh(key)
        return self._roles_of(entry)

    def invalidate(self, user: str) -> None:
        """Forget a user's cached roles (after a sign-in that brought new ones)."""
        with self._lock:
            self._entries.pop(user.lower(), None)

    def refresh_due(self) -> int:
        """Refresh every entry that is older than half the TTL (the background sync); returns how many."""
        now = self.clock.now_ms()
        with self._lock:
            due = [k for k, e in self._entries.items() if now - e.checked_ms >= self.ttl_ms // 2]
        for key in due:
            self._refresh(key)
        return len(due)

    def _refresh(self, key: str) -> _Entry:
        now = self.clock.now_ms()
        with self._lock:
            old = self._entries.get(key)
        entry = _Entry(checked_ms=now)
        for provider in self.providers:
            state = self._state[provider.name]
            try:
                roles = provider.roles_for(key)
            except RoleProviderDown as exc:
                if state.down_since_ms is None:
                    log.warning("role provider %s is down: %s", provider.name, exc)
                    state.down_since_ms = now
                state.last_error = str(exc)
                previous = old.answers.get(provider.name) if old is not None else None
                if previous is not None and now - previous.fetched_ms <= self.stale_max_ms:
                    entry.answers[provider.name] = previous
                    entry.stale.add(provider.name)
                continue
            if state.down_since_ms is not None:
                log.info("role provider %s answers again", provider.name)
                state.down_since_ms = None
                state.last_error = None
            entry.answers[provider.name] = _Answer(roles, now)
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return entry

    def _roles_of(self, entry: _Entry) -> Roles:
        roles: set[str] = set()
        sources: list[str] = []
        now = self.clock.now_ms()
        for name, answer in entry.answers.items():
            if name in entry.stale and now - answer.fetched_ms > self.stale_max_ms:
                continue
            roles |= answer.roles
            if answer.roles:
                sources.append(f"stale:{name}" if name in entry.stale else name)
        return Roles(frozenset(roles), tuple(sources))

    def status(self) -> dict[str, dict[str, object]]:
        """Per provider: UP, or DOWN since when, why, and for how many users last known roles stand in."""
        out: dict[str, dict[str, object]] = {}
        with self._lock:
            stale_counts = {
                p.name: sum(1 for e in self._entries.values() if p.name in e.stale) for p in self.providers
            }
        for provider in self.providers:
            state = self._state[provider.name]
            if state.down_since_ms is None:
                out[provider.name] = {"status": "UP"}
            else:
                out[provider.name] = {
                    "status": "DOWN",
                    "since": state.down_since_ms,
                    "error": state.last_error,
                    "usersOnLastKnownRoles": stale_counts[provider.name],
                    "lastKnownRolesKeptSeconds": self.stale_max_ms / 1000,
                }
        return out
