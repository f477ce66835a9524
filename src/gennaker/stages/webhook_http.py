"""One outbound HTTP request of a webhook stage, under the outbound policy (purpose "webhook").

The URL is checked first; the request then goes to an address that was checked (no second DNS
lookup an attacker could rebind), with connect/read timeouts and a response size limit from the
``[webhook]`` settings. Redirects are not followed: a 3xx is an answer like any other.
"""

from __future__ import annotations

import asyncio
import http
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson

from gennaker.model.execution import Execution, Stage
from gennaker.outbound import FetchFailed, OutboundDenied, OutboundPolicy
from gennaker.stages.webhook_settings import METHODS, WebhookSettings

if TYPE_CHECKING:
    from gennaker.engine.contracts import EngineServices


class RequestFailed(Exception):
    """The request got no answer; ``retryable`` when trying again later may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class Answer:
    """A response: status, headers (name -> values, as sent), body (JSON when declared, else text)."""

    status: int
    headers: dict[str, list[str]]
    body: Any
    text: str

    @property
    def status_name(self) -> str:
        """Spring's HttpStatus name ("OK", "ACCEPTED"...), what Orca stores as ``statusCode``."""
        try:
            return http.HTTPStatus(self.status).name
        except ValueError:
            return str(self.status)

    def header(self, name: str) -> str | None:
        """The first value of a header, any case."""
        for key, values in self.headers.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return None


def policy_of(settings: Any) -> OutboundPolicy:
    """The outbound policy from the ``[outbound]`` settings."""
    outbound = settings.outbound
    return OutboundPolicy(tuple(outbound.allow), tuple(outbound.deny))


def request_headers(
    services: EngineServices,
    limits: WebhookSettings,
    execution: Execution,
    stage: Stage,
    context: Mapping[str, Any],
) -> Any:
    """The headers to send: a preconfigured webhook's own (kept out of the stage context, so its
    credentials never show in the execution; ``${...}`` in them is evaluated here), else the
    stage's ``customHeaders``."""
    hook = limits.hook_for(stage.type)
    if hook is None or not hook.customHeaders:
        return context.get("customHeaders")
    evaluator = services.evaluator
    headers: dict[str, Any] = {}
    for name, value in hook.customHeaders.items():
        values = value if isinstance(value, list) else [value]
        headers[name] = [
            evaluator.evaluate_text(execution, stage, v).value if isinstance(v, str) and "${" in v else v
            for v in values
        ]
    return headers


def _header_pairs(custom: Any) -> list[tuple[str, str]]:
    if not isinstance(custom, dict):
        return []
    pairs: list[tuple[str, str]] = []
    for name, value in custom.items():
        values = value if isinstance(value, list) else [value]
        pairs.extend((str(name), "" if v is None else str(v)) for v in values)
    return pairs


def _content(payload: Any) -> bytes | None:
    if payload is None:
        return None
    if isinstance(payload, str):
        return payload.encode()
    if isinstance(payload, bytes):
        return payload
    return orjson.dumps(payload)


def _pinned(url: str, address: str) -> tuple[str, str, str]:
    """(URL aimed at ``address``, the Host header, the TLS server name)."""
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return (
        urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
        host_header,
        parts.hostname or "",
    )


def _parse(raw: bytes, content_type: str) -> tuple[Any, str]:
    text = raw.decode("utf-8", errors="replace")
    if not raw.strip():
        return None, text
    if "json" in content_type.lower():
        try:
            return orjson.loads(raw), text
        except orjson.JSONDecodeError:
            return text, text
    return text, text


async def _check(policy: OutboundPolicy, url: str) -> tuple[str, ...]:
    try:
        return await asyncio.to_thread(policy.check, url, "webhook")
    except OutboundDenied as exc:
        raise RequestFailed(f"The outbound policy refuses {url}: {exc.reason}", retryable=False) from None
    except FetchFailed as exc:
        raise RequestFailed(f"Request to {url} failed: {exc.reason}", retryable=True) from None


async def send(
    policy: OutboundPolicy,
    limits: WebhookSettings,
    method: str,
    url: str,
    *,
    headers: Any = None,
    payload: Any = None,
) -> Answer:
    """Make one request; raises RequestFailed when there is no answer."""
    method = method.upper()
    if method not in METHODS:
        raise RequestFailed(
            f"Unsupported HTTP method {method!r} (use one of {', '.join(METHODS)})", retryable=False
        )
    addresses = await _check(policy, url)
    pairs = _header_pairs(headers)
    content = None if method in ("GET", "HEAD") else _content(payload)
    if content is not None and not any(k.lower() == "content-type" for k, _ in pairs):
        pairs.append(("Content-Type", "application/json"))
    timeout = httpx.Timeout(
        limits.read_timeout_seconds,
        connect=limits.connect_timeout_seconds,
        pool=limits.connect_timeout_seconds,
    )
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for position, address in enumerate(addresses):
            target, host_header, server_name = _pinned(url, address)
            extensions = {"sni_hostname": server_name} if target.startswith("https") else {}
            request = client.build_request(
                method,
                target,
                headers=[("Host", host_header), *pairs],
                content=content,
                extensions=extensions,
            )
            try:
                return await _exchange(client, request, url, limits.max_response_bytes)
            except httpx.ConnectError as exc:
                if position + 1 < len(addresses):
                    continue  # the host's next address
                raise RequestFailed(
                    f"Cannot connect to {url}: {exc or 'connection refused'}", retryable=False
                ) from None
            except httpx.ConnectTimeout:
                raise RequestFailed(
                    f"Connecting to {url} timed out after {limits.connect_timeout_seconds:g} s",
                    retryable=True,
                ) from None
            except httpx.TimeoutException:
                raise RequestFailed(
                    f"{url} did not answer within {limits.read_timeout_seconds:g} s",
                    retryable=method == "GET",
                ) from None
            except httpx.HTTPError as exc:
                raise RequestFailed(
                    f"Request to {url} failed: {type(exc).__name__}: {exc}", retryable=False
                ) from None
    raise RequestFailed(f"Cannot connect to {url}: no address answered", retryable=False)  # pragma: no cover


async def _exchange(client: httpx.AsyncClient, request: httpx.Request, url: str, limit: int) -> Answer:
    response = await client.send(request, stream=True)
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise RequestFailed(f"The response from {url} is larger than {limit} bytes", retryable=False)
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > limit:
                raise RequestFailed(f"The response from {url} is larger than {limit} bytes", retryable=False)
    finally:
        await response.aclose()
    headers: dict[str, list[str]] = {}
    for raw_name, raw_value in response.headers.raw:
        headers.setdefault(raw_name.decode("latin-1"), []).append(raw_value.decode("latin-1"))
    parsed, text = _parse(bytes(body), response.headers.get("content-type", ""))
    return Answer(response.status_code, headers, parsed, text)
