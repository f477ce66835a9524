"""Policies decided by an Open Policy Agent server over its Data API: ``POST /v1/data/<path>``
with ``{"input": <document>}``; the answer's ``result`` is ``true``/``false`` (allowed or not), a
list of messages (each one a violation; empty: allowed), or an object with ``allow`` and
optionally ``reasons`` (or ``deny``) messages. An undefined result, an unreachable server or an
error answer is a failure, decided by ``[policies.opa] failure_mode``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx


class OpaFailure(Exception):
    """OPA could not decide (unreachable, error status, undefined or unusable result)."""


def decide(client: httpx.Client, url: str, path: str, document: Mapping[str, Any]) -> tuple[bool, list[str]]:
    """(allowed, reasons) for ``document`` at the data ``path``."""
    target = f"{url.rstrip('/')}/v1/data/{path.strip('/')}"
    try:
        response = client.post(target, json={"input": dict(document)})
    except httpx.HTTPError as exc:
        raise OpaFailure(f"the policy server at {url} was unreachable: {exc}") from None
    if response.status_code != 200:
        raise OpaFailure(f"the policy server at {url} answered {response.status_code} for {path}")
    try:
        body = response.json()
    except ValueError:
        raise OpaFailure(f"the policy server at {url} answered something that is not JSON") from None
    if not isinstance(body, dict) or "result" not in body:
        raise OpaFailure(f"the policy {path} is undefined on the policy server at {url}")
    result = body["result"]
    if isinstance(result, bool):
        return result, []
    if isinstance(result, list):
        return not result, [str(r) for r in result]
    if isinstance(result, dict) and isinstance(result.get("allow"), bool):
        reasons = result.get("reasons", result.get("deny")) or []
        return bool(result["allow"]), [str(r) for r in reasons] if isinstance(reasons, list) else [
            str(reasons)
        ]
    raise OpaFailure(f"the policy {path} gave a result that is neither a bool, a list nor {{allow: bool}}")
