"""Artifact matching and expected-artifact binding (Orca's ArtifactUtils / ArtifactResolver, basic)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from gennaker.errors import FieldError, InvalidInput

_MATCH_FIELDS = ("type", "name", "version", "location", "reference", "artifactAccount")


def artifact_matches(match: Mapping[str, Any], artifact: Mapping[str, Any]) -> bool:
    """A received artifact fits a matchArtifact: every non-empty field is a full-match regex
    (``reference`` compares exactly), as Spinnaker's expected-artifact matching does."""
    for field in _MATCH_FIELDS:
        wanted = match.get(field)
        if wanted in (None, ""):
            continue
        value = artifact.get(field)
        if value is None:
            return False
        if field == "reference":
            if str(value) != str(wanted):
                return False
            continue
        try:
            if re.fullmatch(str(wanted), str(value)) is None:
                return False
        except re.error:
            if str(value) != str(wanted):
                return False
    return True


def resolve_expected_artifacts(
    expected: Sequence[Mapping[str, Any]], received: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Bind each expected artifact to a received one, else its default; raise InvalidInput naming
    the expected artifacts that could not be bound."""
    resolved: list[dict[str, Any]] = []
    errors: list[FieldError] = []
    for index, entry in enumerate(expected):
        match = entry.get("matchArtifact") or {}
        bound = next((dict(a) for a in received if artifact_matches(match, a)), None)
        if bound is None and entry.get("useDefaultArtifact") and entry.get("defaultArtifact"):
            bound = dict(entry["defaultArtifact"])
        if bound is None:
            name = entry.get("displayName") or entry.get("id") or index
            errors.append(
                FieldError(f"$.expectedArtifacts[{index}]", f"no artifact matched expected artifact {name!r}")
            )
            continue
        out = dict(entry)
        out["boundArtifact"] = bound
        resolved.append(out)
    if errors:
        raise InvalidInput("", errors)
    return resolved
