"""The operator's bounds for one expression evaluation (configured in ``[expressions]``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Bounds for one expression evaluation (one ``${...}`` or one condition)."""

    max_expression_length: int = 10_000
    max_steps: int = 100_000
    max_seconds: float = 2.0
    max_string_length: int = 2_000_000
    max_collection_size: int = 100_000
    # Characters and elements an evaluation may build in all, across every intermediate value.
    max_alloc: int = 16_000_000
    # Nesting of the expression's syntax tree (parentheses, ternaries, inline lists ...).
    max_depth: int = 100
    max_regex_length: int = 1_000
    max_regex_input: int = 100_000
    # Pessimistic backtracking bound (input length ** (unbounded quantifiers + 1)) a regex may have.
    max_regex_cost: float = 1e8
    url_timeout_seconds: float = 10.0
    url_max_bytes: int = 1_000_000


DEFAULT_LIMITS = Limits()
