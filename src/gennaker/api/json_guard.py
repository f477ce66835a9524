"""Refuse JSON that parses in Python but cannot be stored: integers beyond 64 bits, NaN, Infinity.

Python's json module accepts them; orjson (which stores every document) does not, and a request
must fail with a 400 naming the problem, not with a 500 at the commit. Only bodies that could
contain such a value (a run of 19+ digits, or the words NaN/Infinity) are parsed again here.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gennaker.api.errors import error_response
from gennaker.errors import FieldError

_SUSPECT = re.compile(rb"\d{19,}|NaN|Infinity")
_MIN, _MAX = -(2**63), 2**64 - 1


class Unstorable(ValueError):
    """A value JSON storage cannot represent."""


def _int(text: str) -> int:
    value = int(text)
    if not _MIN <= value <= _MAX:
        raise Unstorable(f"the integer {text[:30]}{'...' if len(text) > 30 else ''} does not fit in 64 bits")
    return value


def _constant(name: str) -> Any:
    raise Unstorable(f"{name} is not valid JSON")


def problem(body: bytes) -> str | None:
    """Why ``body`` cannot be stored, or None (also None for malformed JSON: FastAPI reports that)."""
    if not _SUSPECT.search(body):
        return None
    try:
        json.loads(body, parse_int=_int, parse_constant=_constant)
    except Unstorable as exc:
        return str(exc)
    except ValueError:
        return None
    return None


class JsonGuardMiddleware:
    """Checks JSON request bodies before the routes see them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        content_type = next((v for k, v in scope.get("headers") or () if k == b"content-type"), b"")
        if b"json" not in content_type:
            await self.app(scope, receive, send)
            return
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
        why = problem(body)
        if why is not None:
            response = error_response(
                400, f"the request body cannot be stored: {why}", [FieldError("$", why)]
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
