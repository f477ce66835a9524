"""The DNS-rebinding guard: with authentication off, serve only requests addressed to this machine.

A web page can make its own host name resolve to 127.0.0.1 and then send requests that the
browser treats as same-origin; the only trace is the Host header, which still names the page's
domain. With authentication off (a laptop, bound to loopback) a request is served only when its
Host names a loopback address, ``localhost`` (or a name under ``.localhost``), the host of
``server.public_url``, or a name in ``server.allowed_hosts``; others get a 421 saying so.
With authentication on, credentials do that job and every Host is served.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from gennaker.api.errors import error_response


def host_name(header: str) -> str:
    """The name in a Host header without its port, lower-case (``[::1]:8084`` -> ``::1``)."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


def is_loopback_name(name: str) -> bool:
    """``localhost``, ``*.localhost`` (RFC 6761) or a loopback IP address."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class HostGuardMiddleware:
    """Answers 421 to requests whose Host header names neither loopback nor a configured host."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str], public_url: str | None = None) -> None:
        self.app = app
        names = {host_name(a) for a in allowed if a.strip()}
        if public_url:
            public = urlsplit(public_url).hostname
            if public:
                names.add(public.lower())
        self.allowed = frozenset(names)

    def permits(self, header: str | None) -> bool:
        """Whether a request with this Host header (None: none sent) may be served."""
        if header is None:
            return True  # HTTP/1.0 without Host: no browser sends that
        name = host_name(header)
        return is_loopback_name(name) or name in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next(
            (bytes(v).decode("latin-1") for k, v in scope.get("headers") or () if k == b"host"), None
        )
        if self.permits(header):
            await self.app(scope, receive, send)
            return
        response = error_response(
            421,
            f"requests addressed to host {header!r} are refused: with authentication off this server "
            "answers only requests to a loopback address or localhost (a guard against DNS "
            "rebinding); add the name to [server] allowed_hosts (GENNAKER_ALLOWED_HOSTS) to allow it",
        )
        await response(scope, receive, send)
