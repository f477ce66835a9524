"""Refuse JSON that parses in Python but cannot be stored, naming the field that holds it.

Python's json module accepts integers beyond 64 bits, NaN and Infinity, numbers such as ``1e400``
(read as infinity), lone UTF-16 surrogates (``"\\ud800"``) and NUL characters (``"\\u0000"``).
orjson (which stores every document) refuses the first four and PostgreSQL refuses NUL in text and
JSONB while SQLite keeps it: one rule for every backend is to refuse them all at the API edge with
a 400 naming the JSON path. Only bodies that could hold such a value (a run of 19+ digits, an
exponent of 3+ digits, NaN/Infinity, a ``\\u0000`` or surrogate escape) are parsed again here.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gennaker.api.errors import error_response
from gennaker.errors import FieldError

_SUSPECT = re.compile(rb"\d{19,}|[eE][+-]?\d{3,}|NaN|Infinity|\\u(?:0000|[dD][89a-fA-F])")
_SURROGATE = re.compile("[\ud800-\udfff]")
_MIN, _MAX = -(2**63), 2**64 - 1
#: Problems reported at most (a body full of them needs no thousand lines to say so).
_MAX_REPORTED = 20


class _Bad:
    """A value the parser met that cannot be stored, kept in place so its path can be found."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why


def _int(text: str) -> int | _Bad:
    value = int(text)
    if not _MIN <= value <= _MAX:
        shown = f"{text[:30]}{'...' if len(text) > 30 else ''}"
        return _Bad(f"the integer {shown} does not fit in 64 bits")
    return value


def _float(text: str) -> float | _Bad:
    value = float(text)
    if math.isinf(value):
        shown = f"{text[:30]}{'...' if len(text) > 30 else ''}"
        return _Bad(f"the number {shown} is too large (beyond a 64-bit float)")
    return value


def _constant(name: str) -> _Bad:
    return _Bad(f"{name} is not valid JSON")


def _string_problem(value: str) -> str | None:
    if "\x00" in value:
        return "must not contain a NUL character (\\u0000)"
    if _SURROGATE.search(value):
        return "must not contain a lone UTF-16 surrogate (such as \\ud800)"
    return None


def _walk(value: Any, path: str, found: list[FieldError]) -> None:
    if len(found) >= _MAX_REPORTED:
        return
    if isinstance(value, _Bad):
        found.append(FieldError(path, value.why))
    elif isinstance(value, str):
        why = _string_problem(value)
        if why is not None:
            found.append(FieldError(path, why))
    elif isinstance(value, dict):
        for key, item in value.items():
            key_problem = _string_problem(key)
            shown = key.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
            child = f"{path}.{shown}"
            if key_problem is not None:
                found.append(FieldError(child, f"the key {key_problem}"))
            _walk(item, child, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", found)


def problems(body: bytes) -> list[FieldError]:
    """Every value in ``body`` that cannot be stored, with its JSON path (empty for malformed JSON:
    the route reports that)."""
    if not _SUSPECT.search(body):
        return []
    try:
        document = json.loads(body, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except (ValueError, RecursionError):
        return []
    found: list[FieldError] = []
    _walk(document, "$", found)
    return found


def problem(body: bytes) -> str | None:
    """Why ``body`` cannot be stored, or None."""
    found = problems(body)
    return "; ".join(str(f) for f in found) if found else None


def _looks_like_json(content_type: bytes, body_start: bytes) -> bool:
    if b"json" in content_type:
        return True
    # Routes that read their body themselves (webhooks, evaluateVariables) parse it whatever the
    # content type says; what they store must pass the same check.
    return body_start.lstrip()[:1] in (b"{", b"[", b'"')


class JsonGuardMiddleware:
    """Checks JSON request bodies before the routes see them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        content_type = next((v for k, v in scope.get("headers") or () if k == b"content-type"), b"")
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        found = problems(body) if _looks_like_json(content_type, body[:64]) else []
        if found:
            response = error_response(
                400, "the request body cannot be stored: " + "; ".join(str(f) for f in found), found
            )
            await response(scope, receive, send)
            return
        await self.app(
            scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send
        )


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive
