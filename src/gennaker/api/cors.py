"""Cross-origin requests (Gate's CorsFilter / GateCorsConfig): a Deck served from another origin
calls the API with credentials, so an allowed Origin is echoed back (never ``*``) together with
``Access-Control-Allow-Credentials: true``, and preflights (``OPTIONS`` with
``Access-Control-Request-Method``) are answered here, before authentication, which a browser's
preflight never carries. Origins not allowed get no CORS headers at all, and their preflights a
403, so the browser refuses the call.

Allowed origins come from ``api.cors.allowed_origins``: exact origins, or regular expressions
(starting with ``^``) matched against the whole Origin header, as Gate's
``cors.allowed-origins-pattern``. None are allowed by default.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: As Gate's CorsFilter answers them.
ALLOW_METHODS = "POST, GET, OPTIONS, DELETE, PUT, PATCH"
ALLOW_HEADERS = "x-requested-with, content-type, authorization, X-RateLimit-App, X-Spinnaker-Priority"
EXPOSE_HEADERS = "X-AUTH-REDIRECT-URL"
MAX_AGE = "3600"


class OriginPolicy:
    """Which Origin headers are allowed."""

    def __init__(self, allowed: Sequence[str]) -> None:
        self._exact = {_normalise(entry) for entry in allowed if not entry.startswith("^")}
        self._patterns = [re.compile(entry) for entry in allowed if entry.startswith("^")]

    @property
    def enabled(self) -> bool:
        """Whether any origin is allowed."""
        return bool(self._exact or self._patterns)

    def allows(self, origin: str) -> bool:
        """Whether this Origin header may call with credentials (``null`` never may)."""
        if not origin or origin == "null":
            return False
        if _normalise(origin) in self._exact:
            return True
        return any(pattern.fullmatch(origin) for pattern in self._patterns)


def _normalise(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


class CorsMiddleware:
    """Adds CORS headers for allowed origins and answers their preflights (pure ASGI)."""

    def __init__(self, app: ASGIApp, allowed_origins: Sequence[str]) -> None:
        self.app = app
        self.policy = OriginPolicy(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.policy.enabled:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        allowed = self.policy.allows(origin)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(send, origin if allowed else None)
            return
        if not allowed:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                _add_cors(response_headers, origin)
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    async def _preflight(send: Send, origin: str | None) -> None:
        if origin is None:
            body = b"Disallowed CORS origin"
            raw = [(b"content-type", b"text/plain; charset=utf-8"), (b"vary", b"Origin")]
            status = 403
        else:
            body = b""
            response_headers = MutableHeaders()
            _add_cors(response_headers, origin)
            response_headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
            response_headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response_headers["Access-Control-Max-Age"] = MAX_AGE
            raw = response_headers.raw
            status = 200
        raw = [*raw, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})


def _add_cors(headers: MutableHeaders, origin: str) -> None:
    headers["Access-Control-Allow-Origin"] = origin
    headers["Access-Control-Allow-Credentials"] = "true"
    headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    headers.add_vary_header("Origin")
