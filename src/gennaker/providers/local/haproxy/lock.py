"""An exclusive lock on a file, so one process at a time changes an account's HAProxy."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gennaker.providers.local.haproxy.errors import HAProxyError


@contextmanager
def file_lock(path: Path, *, timeout_seconds: float) -> Iterator[None]:
    """Hold flock(LOCK_EX) on `path` (threads and processes alike), waiting at most the timeout."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise HAProxyError(
                        f"another process has held {path} for over {timeout_seconds:g}s while changing "
                        "HAProxy; try again, or look for a stuck gennaker process"
                    ) from None
                time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
