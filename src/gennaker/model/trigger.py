"""The keys Orca writes on every execution's trigger, with their empty values.

Orca's ``Trigger`` (DefaultTrigger and its subtypes in orca-core) always serialises ``type``,
``user``, ``parameters``, ``artifacts``, ``notifications``, ``rebake``, ``dryRun``, ``strategy``,
``resolvedExpectedArtifacts`` and (set by ``ArtifactUtils.resolveArtifacts`` on every start)
``expectedArtifacts``. Deck reads several of them without a guard (for instance
``trigger.resolvedExpectedArtifacts.length`` in ParametersAndArtifacts.tsx), so an execution whose
trigger lacks one breaks the Pipelines tab.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ANONYMOUS = "[anonymous]"


def _empty_defaults() -> dict[str, Any]:
    return {
        "parameters": {},
        "artifacts": [],
        "notifications": [],
        "resolvedExpectedArtifacts": [],
        "expectedArtifacts": [],
        "rebake": False,
        "dryRun": False,
        "strategy": False,
    }


def with_trigger_defaults(trigger: Mapping[str, Any], *, user: str | None = None) -> dict[str, Any]:
    """A copy of ``trigger`` with every key Orca always writes (missing or null ones get Orca's
    empty value; ``type`` defaults to manual, ``user`` to the caller or ``[anonymous]``)."""
    out = dict(trigger)
    if not out.get("type"):
        out["type"] = "manual"
    if not out.get("user"):
        out["user"] = user or ANONYMOUS
    for key, empty in _empty_defaults().items():
        if out.get(key) is None:
            out[key] = empty
    return out


def missing_trigger_defaults(trigger: Mapping[str, Any]) -> bool:
    """Whether a stored trigger lacks any of the keys Orca always writes."""
    return any(trigger.get(key) is None for key in ("type", "user", *_empty_defaults()))
