"""The role cache: answers within the TTL without asking, refreshes what is due (the background
sync), keeps a provider's last known roles for a bounded time while it is down, and says so."""

from __future__ import annotations

from gennaker.authz.cache import RoleCache
from gennaker.authz.roles.protocol import RoleProviderDown
from gennaker.clock import FrozenClock


class Directory:
    """A role provider whose answers and availability the test sets (an in-memory stand-in; the
    real LDAP provider is tested against slapd in test_ldap.py)."""

    name = "ldap"

    def __init__(self) -> None:
        self.roles: dict[str, frozenset[str]] = {}
        self.down = False
        self.asked = 0

    def roles_for(self, user: str) -> frozenset[str]:
        self.asked += 1
        if self.down:
            raise RoleProviderDown("ldap://directory:389 is unreachable")
        return self.roles.get(user, frozenset())


def _cache(directory: Directory, clock: FrozenClock) -> RoleCache:
    return RoleCache([directory], clock, ttl_seconds=30, stale_max_seconds=120, size=2)


def test_roles_are_cached_for_the_ttl_and_refreshed_when_due() -> None:
    clock, directory = FrozenClock(), Directory()
    directory.roles["ann"] = frozenset({"viewers"})
    cache = _cache(directory, clock)
    assert cache.roles("Ann").roles == {"viewers"}
    directory.roles["ann"] = frozenset({"viewers", "runners"})
    clock.advance(ms=10_000)
    assert cache.roles("ann").roles == {"viewers"} and directory.asked == 1
    clock.advance(ms=6_000)
    assert cache.refresh_due() == 1  # older than half the TTL: the background sync asks again
    assert cache.roles("ann").roles == {"viewers", "runners"} and directory.asked == 2
    clock.advance(ms=31_000)
    cache.roles("ann")
    assert directory.asked == 3


def test_a_provider_that_is_down_keeps_last_known_roles_for_a_bounded_time() -> None:
    clock, directory = FrozenClock(), Directory()
    directory.roles["ann"] = frozenset({"viewers"})
    cache = _cache(directory, clock)
    cache.roles("ann")
    directory.down = True
    clock.advance(ms=31_000)
    found = cache.roles("ann")
    assert found.roles == {"viewers"} and found.sources == ("stale:ldap",)
    status = cache.status()["ldap"]
    assert status["status"] == "DOWN" and status["usersOnLastKnownRoles"] == 1
    clock.advance(ms=100_000)  # 131 s since the last answer: past the 120 s bound
    assert cache.roles("ann").roles == frozenset()
    directory.down = False
    clock.advance(ms=31_000)
    assert cache.roles("ann").roles == {"viewers"} and cache.status()["ldap"] == {"status": "UP"}


def test_the_cache_holds_at_most_its_size() -> None:
    clock, directory = FrozenClock(), Directory()
    cache = _cache(directory, clock)
    for user in ("a", "b", "c"):
        cache.roles(user)
    cache.roles("a")
    assert directory.asked == 4  # "a" was the least recently used and left
