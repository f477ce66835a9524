"""A steady HTTP client for tests and benchmarks: sends requests at a fixed rate to a URL on
127.0.0.1 from background threads and records every answer and every failure, so a test can say
"not one request failed while traffic moved" and "version 1 stopped answering before it was
reported disabled".

Each request opens a new connection by default: a kept-alive connection would hide a backend that
refuses new connections, which is exactly what a deploy must never cause.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Answer", "LoadGenerator", "LoadFailure", "generate_load"]


@dataclass(frozen=True)
class Answer:
    """One request: when it was sent and finished (epoch seconds), and what came back."""

    started: float
    finished: float
    status: int | None  # None: no HTTP answer at all (refused, reset, timed out)
    body: str = ""
    version: str | None = None
    instance: str | None = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        """Refused, reset, timed out, or a 5xx (HAProxy's 503 when no server is left)."""
        return self.status is None or self.status >= 500


class LoadFailure(AssertionError):
    """Raised by :meth:`LoadGenerator.assert_no_failures` with the failed requests listed."""


def _default_parse(body: str) -> tuple[str | None, str | None]:
    """The example service answers ``{"version": ..., "instance": ...}``; anything else is the version."""
    try:
        data = json.loads(body)
    except ValueError:
        return (body.strip() or None), None
    if isinstance(data, dict):
        version = data.get("version")
        instance = data.get("instance")
        return (None if version is None else str(version)), (None if instance is None else str(instance))
    return str(data), None


class LoadGenerator:
    """Sends ``rate`` GET requests per second to ``url`` until stopped; thread-safe to read while running."""

    def __init__(
        self,
        url: str,
        *,
        rate: float = 50.0,
        concurrency: int = 4,
        timeout: float = 5.0,
        keep_alive: bool = False,
        parse: Callable[[str], tuple[str | None, str | None]] = _default_parse,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"load generator: {url!r} is not an http:// URL")
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"load generator: {url!r} is not on 127.0.0.1; it only sends local traffic")
        if rate <= 0 or concurrency < 1:
            raise ValueError("load generator: rate must be > 0 and concurrency >= 1")
        self.url = url
        self.rate = rate
        self.concurrency = concurrency
        self.timeout = timeout
        self.keep_alive = keep_alive
        self._parse = parse
        self._host = parts.hostname
        self._port = parts.port or 80
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started_at: float | None = None
        self.stopped_at: float | None = None

    # -- running -----------------------------------------------------------------------------

    def start(self) -> LoadGenerator:
        """Start sending; returns self."""
        if self._threads:
            raise RuntimeError("load generator already started")
        self.started_at = time.time()
        # Each thread sends every ``concurrency``-th slot of one shared schedule, so a slow
        # answer on one thread does not lower the overall rate.
        origin = time.monotonic()
        for index in range(self.concurrency):
            thread = threading.Thread(
                target=self._run, args=(origin, index), name=f"load-{index}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        return self

    def stop(self) -> LoadGenerator:
        """Stop sending and wait for requests in flight; returns self."""
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        self.stopped_at = time.time()
        return self

    def __enter__(self) -> LoadGenerator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, origin: float, index: int) -> None:
        interval = self.concurrency / self.rate
        slot = index / self.rate
        connection: http.client.HTTPConnection | None = None
        while not self._stop.is_set():
            due = origin + slot
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            slot += interval
            if delay < -interval:
                # far behind (a stalled machine): skip the missed slots instead of bursting
                slot = time.monotonic() - origin + interval
            if connection is None or not self.keep_alive:
                connection = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
            answer = self._send(connection)
            if answer.status is None or not self.keep_alive:
                connection.close()
                connection = None
            with self._lock:
                self._answers.append(answer)
        if connection is not None:
            connection.close()

    def _send(self, connection: http.client.HTTPConnection) -> Answer:
        started = time.time()
        try:
            headers = {} if self.keep_alive else {"Connection": "close"}
            connection.request("GET", self._path, headers=headers)
            response = connection.getresponse()
            body = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as error:
            return Answer(started, time.time(), None, error=f"{type(error).__name__}: {error}")
        version, instance = self._parse(body) if response.status < 500 else (None, None)
        return Answer(started, time.time(), response.status, body, version, instance)

    # -- reading -----------------------------------------------------------------------------

    @property
    def answers(self) -> list[Answer]:
        """Every request so far, in the order they finished."""
        with self._lock:
            return list(self._answers)

    @property
    def failures(self) -> list[Answer]:
        """Requests refused, reset, timed out or answered 5xx."""
        return [a for a in self.answers if a.failed]

    def assert_no_failures(self, *, minimum: int = 1) -> None:
        """Raise :class:`LoadFailure` naming the failed requests (or too few requests at all)."""
        answers = self.answers
        failed = [a for a in answers if a.failed]
        if failed:
            shown = "\n".join(
                f"  at {a.started:.3f}: {a.status if a.status is not None else a.error} {a.body[:80]!r}"
                for a in failed[:20]
            )
            raise LoadFailure(f"{len(failed)} of {len(answers)} requests to {self.url} failed:\n{shown}")
        if len(answers) < minimum:
            raise LoadFailure(f"only {len(answers)} requests to {self.url} were sent (expected {minimum}+)")

    def versions(self, *, since: float | None = None, until: float | None = None) -> set[str | None]:
        """Versions that answered requests sent in [since, until] (epoch seconds)."""
        return {a.version for a in self._between(since, until) if not a.failed}

    def instances(self, *, since: float | None = None, until: float | None = None) -> set[str | None]:
        """Instances that answered requests sent in [since, until] (epoch seconds)."""
        return {a.instance for a in self._between(since, until) if not a.failed}

    def answered_by(self, version: str, *, after: float | None = None) -> list[Answer]:
        """Successful answers from ``version`` to requests sent after ``after`` (epoch seconds)."""
        return [a for a in self._between(after, None) if not a.failed and a.version == version]

    def last_answer_from(self, version: str) -> Answer | None:
        """The last successful answer ``version`` gave (by the time the request was sent)."""
        found = [a for a in self.answers if not a.failed and a.version == version]
        return max(found, key=lambda a: a.started) if found else None

    def first_answer_from(self, version: str) -> Answer | None:
        """The first successful answer ``version`` gave (by the time the request was sent)."""
        found = [a for a in self.answers if not a.failed and a.version == version]
        return min(found, key=lambda a: a.started) if found else None

    def wait_for(self, check: Callable[[list[Answer]], bool], timeout: float = 30.0) -> None:
        """Poll the answers until ``check`` holds (e.g. a version answered); AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while not check(self.answers):
            if time.monotonic() > deadline:
                raise AssertionError(f"load generator: condition not met after {timeout} s")
            time.sleep(0.05)

    def wait_for_version(self, version: str, timeout: float = 30.0) -> None:
        """Wait until ``version`` has answered at least once."""
        self.wait_for(lambda answers: any(a.version == version for a in answers), timeout)

    def wait_for_only(self, version: str, *, count: int = 20, timeout: float = 30.0) -> None:
        """Wait until the last ``count`` answers all came from ``version``."""
        self.wait_for(
            lambda answers: (
                len(answers) >= count and all(not a.failed and a.version == version for a in answers[-count:])
            ),
            timeout,
        )

    def summary(self) -> dict[str, Any]:
        """Counts for reports and benchmarks: total, failed, per version, achieved rate."""
        answers = self.answers
        per_version: dict[str, int] = {}
        for answer in answers:
            if not answer.failed:
                key = str(answer.version)
                per_version[key] = per_version.get(key, 0) + 1
        span = (answers[-1].finished - answers[0].started) if answers else 0.0
        return {
            "requests": len(answers),
            "failed": sum(1 for a in answers if a.failed),
            "versions": per_version,
            "rate": (len(answers) / span) if span > 0 else 0.0,
        }

    def _between(self, since: float | None, until: float | None) -> Iterator[Answer]:
        for answer in self.answers:
            if since is not None and answer.started < since:
                continue
            if until is not None and answer.started > until:
                continue
            yield answer


@contextmanager
def generate_load(url: str, **options: Any) -> Iterator[LoadGenerator]:
    """``with generate_load(url, rate=50) as load: ...``; the generator stops on leaving the block."""
    generator = LoadGenerator(url, **options).start()
    try:
        yield generator
    finally:
        generator.stop()
