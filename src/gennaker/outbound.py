"""The outbound HTTP policy shared by webhook stages, notifiers and expression URL functions.

Rules, in order, for every address a URL's host resolves to:

1. Only ``http`` and ``https`` URLs.
2. A ``deny`` entry (host name, ``*.domain`` wildcard, IP or CIDR) matching the host or any of its
   addresses refuses the URL, whatever ``allow`` says.
3. Cloud metadata (169.254.0.0/16, fd00:ec2::254, metadata.google.internal) is refused for every
   purpose, and for the "expression" purpose so are loopback, private, link-local, unique-local,
   shared, reserved, multicast and unspecified addresses, unless an ``allow`` entry matches the
   host or the address: an explicit allow is how operators open a default-denied range.
4. Anything else is allowed (webhooks, notifiers and artifact downloads often target the
   operator's own network).

``fetch_text`` connects to the address that was checked (no second DNS lookup an attacker could
rebind), follows redirects only after checking each new URL, and stops past ``max_bytes``.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from gennaker.errors import GennakerError

Purpose = Literal["webhook", "notification", "expression", "artifact"]
PURPOSES: tuple[str, ...] = ("webhook", "notification", "expression", "artifact")
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

_METADATA_NETWORKS: tuple[Network, ...] = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fd00:ec2::254/128"),
)
_METADATA_HOSTS = frozenset(("metadata.google.internal",))
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_MAX_REDIRECTS = 5


class OutboundError(GennakerError):
    """An outbound request could not be made or did not succeed."""

    status = 502


class OutboundDenied(OutboundError):
    """The policy refuses a URL; ``reason`` says which rule."""

    status = 403

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"Outbound request to {url} denied: {reason}")
        self.url = url
        self.reason = reason


class FetchFailed(OutboundError):
    """The request was allowed but failed (DNS, network, HTTP status, size, time)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"Fetching {url} failed: {reason}")
        self.url = url
        self.reason = reason


@functools.lru_cache(maxsize=256)
def _parse_entry(entry: str) -> Network | str:
    """An entry as a network (IP or CIDR) or a lower-cased host pattern."""
    text = entry.strip()
    try:
        return ipaddress.ip_network(text.strip("[]"), strict=False)
    except ValueError:
        return text.lower().rstrip(".")


def _host_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host != pattern[2:]
    return host == pattern


def _unmapped(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _default_denied(address: Address, purpose: str) -> str | None:
    """Why ``address`` is refused by default for ``purpose`` (None when it is not)."""
    if any(address in network for network in _METADATA_NETWORKS if network.version == address.version):
        return f"{address} is a cloud metadata or link-local address"
    if purpose != "expression":
        return None
    if address.is_loopback:
        return f"{address} is a loopback address"
    if address.is_link_local:
        return f"{address} is a link-local address"
    if address.is_unspecified:
        return f"{address} is an unspecified address"
    if address.is_multicast:
        return f"{address} is a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return f"{address} is a shared (carrier-grade NAT) address"
    if address.is_private or address.is_reserved:
        return f"{address} is a private or reserved address"
    return None


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class OutboundPolicy:
    """Allow and deny lists of host names (``*.example.com`` wildcards) and IPs/CIDRs."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    resolver: Resolver | None = None

    @classmethod
    def from_strings(cls, allow: str = "", deny: str = "") -> OutboundPolicy:
        """Build from comma-separated lists (``GENNAKER_OUTBOUND_ALLOW`` / ``_DENY``)."""
        return cls(
            tuple(e.strip() for e in allow.split(",") if e.strip()),
            tuple(e.strip() for e in deny.split(",") if e.strip()),
        )

    def _matches(self, entries: tuple[str, ...], host: str, addresses: Sequence[Address]) -> str | None:
        for entry in entries:
            parsed = _parse_entry(entry)
            if isinstance(parsed, str):
                if _host_matches(parsed, host):
                    return entry
            elif any(a.version == parsed.version and a in parsed for a in addresses):
                return entry
        return None

    def check(self, url: str, purpose: str) -> tuple[str, ...]:
        """Raise ``OutboundDenied`` unless ``url`` may be requested for ``purpose``.

        Returns the addresses the host resolved to (all of them were checked), so the caller
        can connect to one of them rather than resolving again.
        """
        if purpose not in PURPOSES:
            raise ValueError(f"unknown outbound purpose {purpose!r}; expected one of {PURPOSES}")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise OutboundDenied(url, f"not a valid URL ({exc})") from None
        if parts.scheme not in ("http", "https"):
            raise OutboundDenied(url, "only http and https URLs are allowed")
        host = (parts.hostname or "").rstrip(".").lower()
        if not host:
            raise OutboundDenied(url, "the URL has no host")
        port = port or (443 if parts.scheme == "https" else 80)
        addresses = self._resolve(url, host, port)
        denied_by = self._matches(self.deny, host, addresses)
        if denied_by is not None:
            raise OutboundDenied(url, f"matches the deny list entry '{denied_by}'")
        if self._matches(self.allow, host, addresses) is not None:
            return tuple(str(a) for a in addresses)
        if host in _METADATA_HOSTS:
            raise OutboundDenied(url, f"{host} is a cloud metadata host")
        for address in addresses:
            reason = _default_denied(address, purpose)
            if reason is not None:
                raise OutboundDenied(url, f"{reason}, refused for {purpose} requests unless allowed")
        return tuple(str(a) for a in addresses)

    def _resolve(self, url: str, host: str, port: int) -> list[Address]:
        try:
            return [_unmapped(ipaddress.ip_address(host))]
        except ValueError:
            pass
        try:
            found = (self.resolver or _system_resolver)(host, port)
        except (OSError, UnicodeError) as exc:
            raise FetchFailed(url, f"cannot resolve host {host}: {exc}") from None
        addresses: list[Address] = []
        for text in found:
            try:
                addresses.append(_unmapped(ipaddress.ip_address(text.split("%")[0])))
            except ValueError:
                continue
        if not addresses:
            raise FetchFailed(url, f"host {host} has no addresses")
        return addresses


def _pinned(url: str, address: str) -> tuple[str, str, str]:
    """(URL with the host replaced by ``address``, Host header value, host name for TLS)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    header = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), header, host


def _charset(response: httpx.Response) -> str:
    charset = response.charset_encoding or "utf-8"
    try:
        "".encode(charset)
    except LookupError:
        return "utf-8"
    return charset


def _get_once(
    client: httpx.Client,
    url: str,
    address: str,
    *,
    deadline: float,
    timeout_s: float,
    max_bytes: int,
    headers: Mapping[str, str],
) -> tuple[str | None, bytes, str]:
    """One GET to ``address``: (None, body, charset) for a body, (location, b"", "") for a redirect."""
    target, host_header, sni = _pinned(url, address)
    extensions: dict[str, Any] = {"sni_hostname": sni} if target.startswith("https") else {}
    sent = {**headers, "Host": host_header}
    with client.stream("GET", target, headers=sent, extensions=extensions) as response:
        if response.is_redirect and "location" in response.headers:
            return urljoin(url, response.headers["location"]), b"", ""
        if response.status_code >= 400:
            raise FetchFailed(url, f"HTTP status {response.status_code}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FetchFailed(url, f"the response is larger than {max_bytes} bytes")
        body = bytearray()
        for chunk in response.iter_bytes():
            body.extend(chunk)
            if len(body) > max_bytes:
                raise FetchFailed(url, f"the response is larger than {max_bytes} bytes")
            if time.monotonic() > deadline:
                raise FetchFailed(url, f"took longer than {timeout_s} seconds")
        return None, bytes(body), _charset(response)


def fetch_text(url: str, policy: OutboundPolicy, purpose: str, *, timeout_s: float, max_bytes: int) -> str:
    """GET ``url`` under ``policy`` and return the body as text.

    Raises ``OutboundDenied`` when the policy refuses the URL (or a redirect target) and
    ``FetchFailed`` on DNS or network errors, an HTTP error status, a body larger than
    ``max_bytes`` or a total time over ``timeout_s``.
    """
    body, charset = _fetch(url, policy, purpose, timeout_s=timeout_s, max_bytes=max_bytes, headers={})
    return body.decode(charset, errors="replace")


def fetch_bytes(
    url: str,
    policy: OutboundPolicy,
    purpose: str,
    *,
    timeout_s: float,
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """GET ``url`` under ``policy`` and return the body as bytes (``fetch_text``'s rules and errors).

    ``headers`` (an ``Authorization`` header, say) go to the URL's own host only: a redirect to
    another host is followed without them, so credentials never leave for where they were not meant.
    """
    body, _ = _fetch(
        url, policy, purpose, timeout_s=timeout_s, max_bytes=max_bytes, headers=dict(headers or {})
    )
    return body


def _fetch(
    url: str,
    policy: OutboundPolicy,
    purpose: str,
    *,
    timeout_s: float,
    max_bytes: int,
    headers: dict[str, str],
) -> tuple[bytes, str]:
    deadline = time.monotonic() + timeout_s
    current = url
    origin = urlsplit(url).netloc.rsplit("@", 1)[-1].lower()
    addresses = policy.check(current, purpose)  # refuse before building a client
    with httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
        for hop in range(_MAX_REDIRECTS + 1):
            if hop:
                addresses = policy.check(current, purpose)
                if urlsplit(current).netloc.rsplit("@", 1)[-1].lower() != origin:
                    headers = {}
            location: str | None = None
            for position, address in enumerate(addresses):
                try:
                    location, body, charset = _get_once(
                        client,
                        current,
                        address,
                        deadline=deadline,
                        timeout_s=timeout_s,
                        max_bytes=max_bytes,
                        headers=headers,
                    )
                except httpx.ConnectError as exc:
                    if position + 1 < len(addresses):
                        continue  # try the host's next address
                    raise FetchFailed(url, f"cannot connect: {exc}") from None
                except httpx.TimeoutException:
                    raise FetchFailed(url, f"took longer than {timeout_s} seconds") from None
                except httpx.HTTPError as exc:
                    raise FetchFailed(url, f"{type(exc).__name__}: {exc}") from None
                if location is None:
                    return body, charset
                break
            if location is None:  # pragma: no cover - the loop above always returns or breaks
                raise FetchFailed(url, "no address answered")
            current = location
    raise FetchFailed(url, f"more than {_MAX_REDIRECTS} redirects")


def fetcher(policy: OutboundPolicy, purpose: str = "expression") -> Callable[..., str]:
    """A ``(url, *, timeout_s, max_bytes) -> str`` function bound to ``policy`` and ``purpose``
    (the ``url_fetcher`` of an expression ``EvaluationContext``)."""

    def fetch(url: str, *, timeout_s: float, max_bytes: int) -> str:
        return fetch_text(url, policy, purpose, timeout_s=timeout_s, max_bytes=max_bytes)

    return fetch
