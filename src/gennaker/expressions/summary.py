"""``expressionEvaluationSummary``: what failed, in Spinnaker's JSON shape, and the stage rules
built on it (stale-entry clean-up, ``failOnFailedExpressions``, ``exception.details.errors``)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SUMMARY_KEY = "expressionEvaluationSummary"
ERROR = "ERROR"
INFO = "INFO"
FAILED_EXPRESSION_EVALUATION = "Failed Expression Evaluation"


@dataclass(frozen=True)
class EvaluationSummary:
    """The failures of one evaluation pass plus which expressions it attempted.

    ``failures`` is exactly what Spinnaker stores under ``context.expressionEvaluationSummary``:
    ``{"<expression without ${}>": [{"level", "description", "exceptionType"?, "timestamp"}]}``
    (``exceptionType`` is omitted for INFO entries, as Orca's NON_NULL mapper does).
    """

    failures: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)
    attempted: frozenset[str] = frozenset()
    total_evaluated: int = 0

    @property
    def has_failures(self) -> bool:
        """True when anything failed (INFO entries included)."""
        return bool(self.failures)

    @property
    def failure_count(self) -> int:
        """The number of failure entries."""
        return sum(len(entries) for entries in self.failures.values())

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        """A fresh JSON-ready copy of ``failures``."""
        return {key: [dict(entry) for entry in entries] for key, entries in self.failures.items()}


class SummaryBuilder:
    """Collects failures during one pass; ``freeze()`` gives the immutable summary."""

    __slots__ = ("_failures", "_attempted", "_total", "_now_ms")

    def __init__(self, now_ms: Any) -> None:
        self._failures: dict[str, list[dict[str, Any]]] = {}
        self._attempted: set[str] = set()
        self._total = 0
        self._now_ms = now_ms

    def attempted(self, key: str) -> None:
        """Record that ``key`` was evaluated (whatever the outcome)."""
        self._attempted.add(key)
        self._total += 1

    def add(self, key: str, level: str, description: str, exception_type: str | None) -> None:
        """Record one failure; an identical entry for the same key is kept once."""
        entries = self._failures.setdefault(key, [])
        for entry in entries:
            if (
                entry["level"] == level
                and entry["description"] == description
                and entry.get("exceptionType") == exception_type
            ):
                return
        entry = {"level": level, "description": description, "timestamp": self._now_ms()}
        if exception_type is not None:
            entry["exceptionType"] = exception_type
        entries.append(entry)

    @property
    def failure_count(self) -> int:
        """Failures recorded so far."""
        return sum(len(entries) for entries in self._failures.values())

    def freeze(self) -> EvaluationSummary:
        """The summary of everything recorded."""
        return EvaluationSummary(
            {key: list(entries) for key, entries in self._failures.items()},
            frozenset(self._attempted),
            self._total,
        )


def merge_summary(existing: Mapping[str, Any] | None, new: EvaluationSummary) -> dict[str, Any]:
    """Merge a pass's summary into the summary a stage already has.

    Entries for expressions this pass attempted and did not fail are removed as stale (Orca's
    ``withMergedContext``); this pass's failures replace older entries for the same expression.
    """
    merged: dict[str, Any] = {}
    for key, entries in (existing or {}).items():
        if key in new.attempted and key not in new.failures:
            continue
        merged[key] = copy.deepcopy(entries)
    for key, entries in new.failures.items():
        merged[key] = [dict(entry) for entry in entries]
    return merged


def fail_on_failed_expressions(stage_context: Mapping[str, Any]) -> bool:
    """Whether the stage must fail: ``failOnFailedExpressions`` is true and the stage's summary
    has any entry (INFO included)."""
    flag = stage_context.get("failOnFailedExpressions")
    enabled = flag is True or (isinstance(flag, str) and flag.lower() == "true")
    summary = stage_context.get(SUMMARY_KEY)
    return enabled and isinstance(summary, Mapping) and len(summary) > 0


def summary_errors(summary: Mapping[str, Any] | None) -> list[str]:
    """Every description in a stored summary, in order (for ``exception.details.errors``)."""
    errors: list[str] = []
    for entries in (summary or {}).values():
        for entry in entries if isinstance(entries, list) else []:
            description = entry.get("description") if isinstance(entry, Mapping) else None
            if isinstance(description, str) and description:
                errors.append(description)
    return errors


def merge_exception_errors(exception: Mapping[str, Any] | None, errors: list[str]) -> dict[str, Any]:
    """``context.exception`` with ``errors`` appended to ``details.errors`` (stage completion)."""
    if exception is None:
        return {"details": {"error": FAILED_EXPRESSION_EVALUATION, "errors": list(errors)}}
    details = exception.get("details")
    details = dict(details) if isinstance(details, Mapping) else {}
    previous = details.get("errors")
    details["errors"] = (list(previous) if isinstance(previous, list) else []) + list(errors)
    return {**exception, "details": details}
