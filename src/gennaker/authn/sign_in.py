"""Checking a local user's password, for HTTP Basic and for the web UI's sign-in form alike, so
both spend the same allowance of failed attempts (per user name and per client address) and give
nothing away by timing: an unknown user name is checked against a dummy hash of the same cost as
the real ones, in a small thread pool of its own (hashes cannot take the threads route handlers
need)."""

from __future__ import annotations

from collections.abc import Callable

import anyio.to_thread

from gennaker.authn.passwords import DEFAULT_ITERATIONS, BadHash, parse_hash, verify_password
from gennaker.authn.throttle import FailureThrottle
from gennaker.clock import Clock
from gennaker.config import AuthSettings

#: Password hashes computed at once (each takes a core for a quarter of a second).
_HASH_THREADS = 2


class Throttled(Exception):
    """Too many failed sign-ins for a user name or a client address."""

    def __init__(self, retry_after: int, what: str) -> None:
        super().__init__(what)
        self.retry_after = retry_after
        self.what = what


def _dummy_hash(hashes: list[str]) -> str:
    """A hash no password matches, as costly to check as the configured users' hashes (the
    costliest of them; the default cost when none can be read)."""
    counts = []
    for encoded in hashes:
        try:
            counts.append(parse_hash(encoded)[0])
        except BadHash:
            continue
    iterations = max(counts) if counts else DEFAULT_ITERATIONS
    return f"pbkdf2_sha256${iterations}${'00' * 16}${'00' * 32}"


#: Checks a user name and password against a directory (LDAP bind): True when accepted; raises
#: ``signin.SignInUnavailable`` when the directory cannot answer.
DirectoryCheck = Callable[[str, str], bool]


class PasswordSignIn:
    """The local users' passwords, else the directory's (when one signs users in), checked under
    one throttle (one per API process)."""

    def __init__(self, auth: AuthSettings, clock: Clock, directory: DirectoryCheck | None = None) -> None:
        self.directory = directory
        self.users = {user.name: user.password_hash for user in auth.users}
        self._dummy = _dummy_hash([user.password_hash for user in auth.users])
        self.throttle = FailureThrottle(clock, auth.login_failure_window_seconds)
        self.per_user = auth.login_failures_per_user
        self.per_address = auth.login_failures_per_address
        self._limiter: anyio.CapacityLimiter | None = None

    async def check(self, name: str, password: str, address: str) -> bool:
        """Whether ``password`` is ``name``'s; Throttled (nothing checked) once the user name or
        the address has spent its failed attempts; a failure counts against both."""
        self._check_throttle(name, address)
        stored = self.users.get(name)
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(_HASH_THREADS)
        if stored is None and self.directory is not None:
            # Not a local user: the directory checks the password (SignInUnavailable when it is down).
            matched = await anyio.to_thread.run_sync(self.directory, name, password, limiter=self._limiter)
            if not matched:
                self._record(name, address)
            return matched
        # An unknown name costs the same hash as a known one: timing must not tell them apart.
        encoded = stored if stored is not None else self._dummy
        matched = await anyio.to_thread.run_sync(verify_password, password, encoded, limiter=self._limiter)
        if not matched or stored is None:
            self._record(name, address)
            return False
        return True

    def _record(self, name: str, address: str) -> None:
        self.throttle.record(f"user:{name}")
        if address:
            self.throttle.record(f"address:{address}")

    def _check_throttle(self, name: str, address: str) -> None:
        wait = self.throttle.retry_after(f"user:{name}", self.per_user)
        if wait is not None:
            raise Throttled(wait, f"for user {name!r}")
        if address:
            wait = self.throttle.retry_after(f"address:{address}", self.per_address)
            if wait is not None:
                raise Throttled(wait, f"from {address}")
