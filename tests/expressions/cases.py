"""Shared helpers for the table-driven conformance suites."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def same(actual: Any, expected: Any) -> bool:
    """Equal with the same JSON types (``True`` is not ``1``, ``1`` is not ``1.0``)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, float) or isinstance(actual, float):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, Mapping):
        return (
            isinstance(actual, Mapping)
            and list(actual) == list(expected)
            and all(same(actual[k], v) for k, v in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(same(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return type(actual) is type(expected) and actual == expected
