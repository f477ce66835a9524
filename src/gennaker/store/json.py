"""JSON encoding for stored documents (orjson: fast, and strict about what it accepts)."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> str:
    """Serialise to a JSON string; keys keep their insertion order."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def dumpb(value: Any) -> bytes:
    """Serialise to JSON bytes."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def loads(text: str | bytes) -> Any:
    """Parse JSON text."""
    return orjson.loads(text)
