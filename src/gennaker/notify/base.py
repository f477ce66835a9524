"""What every channel shares: the error that says whether to retry, the context a send gets, and a
JSON POST that goes through the outbound policy.

Error messages never carry a URL: a Slack webhook URL is a secret, and these messages end up in
the event log and the delivery rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx

from gennaker.notify.deliveries import Delivery
from gennaker.notify.settings import NotificationSettings
from gennaker.outbound import FetchFailed, OutboundDenied, OutboundPolicy

PURPOSE = "notification"


class DeliveryError(Exception):
    """A send failed; ``permanent`` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class ChannelContext:
    """What a channel may use while sending."""

    settings: NotificationSettings
    policy: OutboundPolicy
    #: Requests go straight to a transport: httpx's client logs every URL it requests, and a
    #: Slack webhook URL is a secret.
    transport: httpx.AsyncBaseTransport


class Channel(Protocol):
    """A way to send notifications (``type`` in the pipeline's notification entries)."""

    name: str

    async def send(self, delivery: Delivery, ctx: ChannelContext) -> None:
        """Send one notification; raise DeliveryError when it did not go out."""
        ...


def _pinned(url: str, address: str) -> tuple[str, str, str]:
    """(URL aimed at ``address``, Host header, TLS server name): connect where the policy looked."""
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return (
        urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
        host_header,
        parts.hostname or "",
    )


async def post_json(
    ctx: ChannelContext, url: str, body: Mapping[str, Any], *, what: str, timeout_s: float
) -> httpx.Response:
    """POST ``body`` to ``url`` under the outbound policy; DeliveryError (without the URL) on failure.

    A 4xx answer other than 408 and 429 is permanent; 5xx answers and network errors are retried."""
    try:
        addresses = ctx.policy.check(url, PURPOSE)
    except OutboundDenied as exc:
        raise DeliveryError(
            f"the outbound policy refuses the {what.removeprefix('the ')} URL: {exc.reason}", permanent=True
        ) from None
    except FetchFailed as exc:
        raise DeliveryError(f"cannot reach {what}: {exc.reason}") from None
    last = f"cannot reach {what}"
    for address in addresses:
        target, host_header, server_name = _pinned(url, address)
        extensions: dict[str, Any] = {"sni_hostname": server_name} if target.startswith("https") else {}
        request = httpx.Request(
            "POST",
            target,
            json=dict(body),
            headers={"Host": host_header, "User-Agent": "gennaker-notifier"},
            extensions={
                **extensions,
                "timeout": dict.fromkeys(("connect", "read", "write", "pool"), timeout_s),
            },
        )
        try:
            response = await ctx.transport.handle_async_request(request)
            try:
                await response.aread()
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            last = f"{what} did not answer within {timeout_s} seconds"
            continue
        except httpx.HTTPError as exc:
            last = f"cannot reach {what}: {type(exc).__name__}"
            continue
        if response.status_code < 300:
            return response
        permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
        snippet = response.text[:200].strip()
        raise DeliveryError(
            f"{what} answered HTTP {response.status_code}" + (f": {snippet}" if snippet else ""),
            permanent=permanent,
        )
    raise DeliveryError(last)
