"""Health checks of instances: an HTTP GET of ``healthCheck.path`` (2xx/3xx is healthy) or, by
default, a TCP connect to the instance's port; ``healthyThreshold`` successes in a row make it
Up, ``unhealthyThreshold`` failures in a row make it Down (Starting until the first verdict)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STARTING, UP, DOWN = "Starting", "Up", "Down"


@dataclass(frozen=True)
class HealthCheck:
    """What the cluster's ``healthCheck`` asks for."""

    path: str | None = None
    port: int | None = None
    interval_ms: int = 2_000
    timeout_s: float = 1.0
    healthy_threshold: int = 2
    unhealthy_threshold: int = 2

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> HealthCheck:
        """From ``{path, port?, intervalSeconds, timeoutSeconds, healthyThreshold, unhealthyThreshold}``."""
        spec = spec or {}
        path = spec.get("path")
        return cls(
            path=str(path) if path else None,
            port=int(spec["port"]) if spec.get("port") else None,
            interval_ms=int(float(spec.get("intervalSeconds") or 2) * 1000),
            timeout_s=float(spec.get("timeoutSeconds") or 1),
            healthy_threshold=max(1, int(spec.get("healthyThreshold") or 2)),
            unhealthy_threshold=max(1, int(spec.get("unhealthyThreshold") or 2)),
        )


def validate(spec: Any, where: str) -> str | None:
    """A message naming the bad ``healthCheck`` field, or None."""
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        return f'{where} must be an object like {{"path": "/health"}}'
    path = spec.get("path")
    if path is not None and (not isinstance(path, str) or not path.startswith("/")):
        return f"{where}.path must start with '/' (got {path!r})"
    for key in ("port", "intervalSeconds", "timeoutSeconds", "healthyThreshold", "unhealthyThreshold"):
        value = spec.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0
        ):
            return f"{where}.{key} must be a positive number (got {value!r})"
    return None


async def probe(address: str, port: int, check: HealthCheck) -> tuple[bool, str]:
    """One check: (healthy, what was seen)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), check.timeout_s)
    except (OSError, TimeoutError) as exc:
        return False, f"connect to {address}:{port} failed: {exc.__class__.__name__}"
    try:
        if check.path is None:
            return True, f"TCP connect to port {port} succeeded"
        request = (
            f"GET {check.path} HTTP/1.0\r\nHost: {address}:{port}\r\nUser-Agent: gennaker-health\r\n\r\n"
        )
        writer.write(request.encode())
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), check.timeout_s)
        parts = line.decode("latin-1").split()
        code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if 200 <= code < 400:
            return True, f"GET {check.path} answered {code}"
        return False, f"GET {check.path} answered {code or line.decode('latin-1').strip()!r}"
    except (OSError, TimeoutError, ValueError) as exc:
        return False, f"GET {check.path} failed: {exc.__class__.__name__}"
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


def next_health(
    previous: Mapping[str, Any], healthy: bool, description: str, check: HealthCheck, now: int
) -> dict[str, Any]:
    """The health record after one check result."""
    # Counters stop at their threshold, so a steady instance's record stops changing (and is not
    # rewritten after every check).
    successes = min(check.healthy_threshold, int(previous.get("successes") or 0) + 1) if healthy else 0
    failures = 0 if healthy else min(check.unhealthy_threshold, int(previous.get("failures") or 0) + 1)
    state = previous.get("state") or STARTING
    if healthy and successes >= check.healthy_threshold:
        state = UP
    elif not healthy and failures >= check.unhealthy_threshold and state != STARTING:
        state = DOWN
    elif not healthy and state == UP and failures >= check.unhealthy_threshold:
        state = DOWN
    return {
        "state": state,
        "successes": successes,
        "failures": failures,
        "description": description,
        "checkedAt": now,
    }
