"""Save-time policies at the API edge: evaluated before the save's transaction opens (an OPA
policy may wait on the network), refusing with 400 and every violated policy's message."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from gennaker.errors import FieldError, InvalidInput
from gennaker.services import Services

log = logging.getLogger(__name__)


def save_refusal(
    services: Services, config: Mapping[str, Any], *, kind: str, user: str | None
) -> InvalidInput | None:
    """The 400 that save policies give ``config`` (None when they allow it)."""
    decision = services.policies.check_save(config, kind=kind, user=user)
    for warning in decision.warnings:
        log.warning(
            "policy warning on saving %s %s: %s", kind, config.get("name") or config.get("id"), warning
        )
    if not decision.denied:
        return None
    return InvalidInput(
        "denied by policy", [FieldError("$", f"denied by policy {message}") for message in decision.denied]
    )


def check_save(services: Services, config: Mapping[str, Any], *, kind: str, user: str | None) -> None:
    """Raise the save policies' refusal, if any."""
    refusal = save_refusal(services, config, kind=kind, user=user)
    if refusal is not None:
        raise refusal
