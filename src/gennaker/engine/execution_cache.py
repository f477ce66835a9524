"""Executions a worker keeps between transactions, so a transition does not re-read and re-parse
the whole execution (a 1,000-stage fan-out would parse a million stage rows otherwise).

A transaction takes an execution out of the cache only after locking its row and reading its
header version and its stage rows' highest revision; the copy is used when both are the stored
ones (every write moves one of them, in whichever process it happens) and read again otherwise. An execution is given back only after its
transaction committed, so a rolled-back change never survives in memory, and it is out of the
cache while a transaction has it, so two threads never share one. Bounded by stages held (LRU).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from gennaker.model.execution import Execution


class ExecutionCache:
    """Committed executions by id, least recently used dropped beyond ``max_stages`` stages."""

    def __init__(self, max_stages: int = 20_000) -> None:
        self.max_stages = max_stages
        self._items: OrderedDict[str, Execution] = OrderedDict()
        self._stages = 0
        self._lock = threading.Lock()

    def take(self, execution_id: str) -> Execution | None:
        """The cached copy, current or not (the caller checks it against the stored versions); it
        leaves the cache until given back."""
        with self._lock:
            found = self._items.pop(execution_id, None)
            if found is not None:
                self._stages -= len(found.stages)
            return found

    def give_back(self, execution: Execution) -> None:
        """Keep a committed execution (a newer copy already there wins)."""
        size = len(execution.stages)
        if size > self.max_stages:
            return
        with self._lock:
            current = self._items.pop(execution.id, None)
            if current is not None:
                self._stages -= len(current.stages)
                if (current.stored_version, current.stored_revision) > (
                    execution.stored_version,
                    execution.stored_revision,
                ):
                    execution = current
                    size = len(current.stages)
            self._items[execution.id] = execution
            self._stages += size
            while self._stages > self.max_stages and self._items:
                _, dropped = self._items.popitem(last=False)
                self._stages -= len(dropped.stages)

    def drop(self, execution_id: str) -> None:
        """Forget an execution (deleted, or its transaction rolled back)."""
        with self._lock:
            found = self._items.pop(execution_id, None)
            if found is not None:
                self._stages -= len(found.stages)

    def __len__(self) -> int:
        return len(self._items)
