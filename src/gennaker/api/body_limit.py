"""The request body cap: every route refuses a body over ``server.max_body_bytes`` with a 413.

A declared Content-Length over the cap is refused before any byte of the body is read; a body
without one (chunked) or longer than it declared is counted while it streams in, and refused as
soon as it passes the cap, whatever the route was doing with it. Pipeline, strategy and template
saves get the larger ``server.max_config_body_bytes`` (configs with inline manifests).
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gennaker.api.errors import BodyTooLarge, error_response

#: Saves of configs: POST /pipelines, PUT /pipelines/{id}, POST /strategies, template create/update.
_CONFIG_SAVES = (
    ("POST", re.compile(r"/(pipelines|strategies)/?")),
    ("PUT", re.compile(r"/pipelines/[^/]+/?")),
    ("POST", re.compile(r"/v2/pipelineTemplates/(create|update/[^/]+)/?")),
)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers") or ():
        if key == b"content-length":
            text = bytes(value).strip()
            return int(text) if text.isdigit() else None
    return None


class BodyLimitMiddleware:
    """Refuses request bodies over the configured size with a 413 in Gate's error shape."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_config_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_config_bytes = max_config_bytes

    def limit_for(self, method: str, path: str) -> int:
        """The cap for a request (the config cap for config saves)."""
        if any(method == m and pattern.fullmatch(path) for m, pattern in _CONFIG_SAVES):
            return max(self.max_bytes, self.max_config_bytes)
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(str(scope.get("method")), str(scope.get("path")))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, limit)
            return
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the 413 below answers instead of whatever the route made of the failure
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = error_response(
            413,
            f"the request body is larger than {limit} bytes "
            "(server.max_body_bytes, or server.max_config_body_bytes for config saves)",
            headers={"connection": "close"},
        )
        await response(scope, receive, send)
