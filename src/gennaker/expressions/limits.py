"""Limits that keep a hostile expression from hanging a worker or eating its memory.

``Limits`` is the operator's configuration. ``Env`` is the state of one evaluation: the roots, the
active object (``#this``), and the budgets it draws on. Every compiled node calls ``tick`` (one
step); strings and collections an expression builds are charged to ``alloc``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gennaker.expressions.bounds import DEFAULT_LIMITS, Limits
from gennaker.expressions.errors import LimitExceeded

if TYPE_CHECKING:
    from gennaker.expressions.context import EvaluationContext

__all__ = ["DEFAULT_LIMITS", "Env", "Limits"]

_CHUNK = 1024


class Env:
    """Mutable state of one evaluation; never shared between evaluations or threads."""

    __slots__ = (
        "ctx",
        "root",
        "this",
        "limits",
        "allow_unknown",
        "budget",
        "_granted",
        "_used",
        "_deadline",
        "_alloc",
    )

    def __init__(self, ctx: EvaluationContext, root: Mapping[str, Any] | None = None) -> None:
        self.ctx = ctx
        self.root: Mapping[str, Any] = ctx.root if root is None else root
        self.this: Any = self.root
        self.limits = ctx.limits
        self.allow_unknown = ctx.allow_unknown_keys
        max_steps = self.limits.max_steps
        self._granted = _CHUNK if max_steps > _CHUNK else max_steps
        self.budget = self._granted
        self._used = 0
        self._deadline = time.monotonic() + self.limits.max_seconds
        self._alloc = 0

    def refill(self) -> None:
        """Called by ``tick`` when the current chunk of steps is spent: check the totals."""
        self._used += self._granted - self.budget
        if self._used > self.limits.max_steps:
            raise LimitExceeded(f"expression took more than {self.limits.max_steps} evaluation steps")
        self.check_time()
        self._granted = min(_CHUNK, self.limits.max_steps - self._used + 1)
        self.budget = self._granted

    def check_time(self) -> None:
        """Raise when the wall-time budget is spent."""
        if time.monotonic() > self._deadline:
            raise LimitExceeded(f"expression ran longer than {self.limits.max_seconds} seconds")

    def remaining_seconds(self) -> float:
        """Wall time left in this evaluation's budget (URL helpers wait no longer than this)."""
        return self._deadline - time.monotonic()

    def alloc(self, amount: int) -> None:
        """Charge ``amount`` characters or elements to this evaluation's allocation budget."""
        self._alloc += amount
        if self._alloc > self.limits.max_alloc:
            raise LimitExceeded(
                f"expression built more than {self.limits.max_alloc} characters and elements in all"
            )

    def new_str(self, value: str) -> str:
        """Check and charge a string the expression built."""
        if len(value) > self.limits.max_string_length:
            raise LimitExceeded(f"string longer than {self.limits.max_string_length} characters")
        self.alloc(len(value))
        return value

    def check_str_length(self, length: int) -> None:
        """Refuse to build a string of ``length`` before building it."""
        if length > self.limits.max_string_length:
            raise LimitExceeded(f"string longer than {self.limits.max_string_length} characters")
        self.alloc(length)

    def new_list(self, value: list[Any]) -> list[Any]:
        """Check and charge a list the expression built."""
        if len(value) > self.limits.max_collection_size:
            raise LimitExceeded(f"collection larger than {self.limits.max_collection_size} elements")
        self.alloc(len(value))
        return value

    def check_collection_size(self, size: int) -> None:
        """Refuse to build a collection of ``size`` before building it."""
        if size > self.limits.max_collection_size:
            raise LimitExceeded(f"collection larger than {self.limits.max_collection_size} elements")
        self.alloc(size)
