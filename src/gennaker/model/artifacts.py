"""Artifact matching and expected-artifact resolution (kork's ExpectedArtifact.matches, Orca's
ArtifactResolver and ArtifactUtils.resolveArtifacts).

An artifact is ``{type, customKind, name, version, location, reference, metadata,
artifactAccount, provenance, uuid}``; an expected artifact is ``{id, displayName, matchArtifact,
useDefaultArtifact, defaultArtifact, usePriorArtifact}`` and, once resolved, carries the artifact
it was bound to as ``boundArtifact``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gennaker.errors import FieldError, InvalidInput

Json = dict[str, Any]
_MATCH_FIELDS = ("name", "version", "location", "reference")
_EMBEDDED, _REMOTE = "embedded/base64", "remote/base64"


def _field_matches(wanted: Any, value: Any) -> bool:
    """Empty matches anything; else equal, or a full-match regular expression (equality first, so a
    base64 reference with ``+`` in it still matches itself)."""
    if wanted in (None, ""):
        return True
    if value is None:
        return False
    wanted, value = str(wanted), str(value)
    if wanted == value:
        return True
    try:
        return re.fullmatch(wanted, value) is not None
    except re.error:
        return False


def _types_match(wanted: Any, value: Any) -> bool:
    if _field_matches(wanted, value):
        return True
    return {str(wanted), str(value)} == {_EMBEDDED, _REMOTE}


def artifact_matches(match: Mapping[str, Any] | None, artifact: Mapping[str, Any]) -> bool:
    """A received artifact fits a ``matchArtifact``: type (embedded/base64 and remote/base64 are
    interchangeable), name, version, location and reference each empty, equal or a full-match
    regex. ``artifactAccount``, ``uuid`` and ``provenance`` are not compared, as in kork."""
    match = match or {}
    if not _types_match(match.get("type"), artifact.get("type")):
        return False
    return all(_field_matches(match.get(f), artifact.get(f)) for f in _MATCH_FIELDS)


def _label(entry: Mapping[str, Any], index: int) -> str:
    return str(entry.get("displayName") or entry.get("id") or f"#{index}")


def _describe(artifact: Mapping[str, Any]) -> str:
    parts = [f"{k}={artifact[k]}" for k in ("type", "name", "version", "reference") if artifact.get(k)]
    text = ", ".join(parts)
    return text if len(text) <= 200 else text[:197] + "..."


@dataclass(frozen=True)
class Resolution:
    """What resolving some expected artifacts gave: the artifacts they were bound to (distinct, in
    order) and the expected artifacts with ``boundArtifact`` set."""

    artifacts: list[Json]
    expected: list[Json]


class ArtifactResolver:
    """Binds expected artifacts: a current artifact first, then (``usePriorArtifact``) the prior
    execution's, then (``useDefaultArtifact``) the default; Orca's ArtifactResolver."""

    def __init__(
        self,
        current: Sequence[Mapping[str, Any]],
        prior: Callable[[], Sequence[Mapping[str, Any]]] | None = None,
        *,
        require_unique: bool,
        path: str = "$.expectedArtifacts",
    ) -> None:
        self._current = [a for a in current if isinstance(a, Mapping)]
        self._prior_source = prior
        self._prior: list[Mapping[str, Any]] | None = None
        self._unique = require_unique
        self._path = path

    def _prior_artifacts(self) -> list[Mapping[str, Any]]:
        if self._prior is None:
            found = self._prior_source() if self._prior_source is not None else []
            self._prior = [a for a in found if isinstance(a, Mapping)]
        return self._prior

    def resolve(
        self, expected: Sequence[Mapping[str, Any]], indexes: Sequence[int] | None = None
    ) -> Resolution:
        """Bind each expected artifact; InvalidInput naming every one that could not be bound (or
        matched more than one artifact where matches must be unique)."""
        artifacts: list[Json] = []
        bound_entries: list[Json] = []
        errors: list[FieldError] = []
        for position, entry in enumerate(expected):
            index = indexes[position] if indexes is not None else position
            where = f"{self._path}[{index}]"
            try:
                bound = self._resolve_one(entry, index)
            except _Ambiguous as exc:
                errors.append(FieldError(where, str(exc)))
                continue
            if bound is None:
                errors.append(
                    FieldError(
                        where,
                        f"Unmatched expected artifact {_label(entry, index)!r} could not be resolved "
                        f"(matchArtifact: {_describe(entry.get('matchArtifact') or {}) or 'empty'})",
                    )
                )
                continue
            if bound not in artifacts:
                artifacts.append(bound)
            bound_entries.append({**dict(entry), "boundArtifact": bound})
        if errors:
            raise InvalidInput("", errors)
        return Resolution(artifacts, bound_entries)

    def _resolve_one(self, entry: Mapping[str, Any], index: int) -> Json | None:
        found = self._match(entry, self._current, index)
        if found is None and entry.get("usePriorArtifact") is True:
            found = self._match(entry, self._prior_artifacts(), index)
        if found is None and entry.get("useDefaultArtifact") is True:
            default = entry.get("defaultArtifact")
            if isinstance(default, Mapping) and default:
                found = dict(default)
        return found

    def _match(
        self, entry: Mapping[str, Any], candidates: Sequence[Mapping[str, Any]], index: int
    ) -> Json | None:
        match = entry.get("matchArtifact")
        matches = [
            dict(a) for a in candidates if artifact_matches(match if isinstance(match, Mapping) else {}, a)
        ]
        if not matches:
            return None
        distinct = [m for i, m in enumerate(matches) if m not in matches[:i]]
        if len(distinct) > 1 and self._unique:
            described = "; ".join(_describe(m) for m in distinct[:5])
            raise _Ambiguous(
                f"Expected artifact {_label(entry, index)!r} matches multiple artifacts: {described}"
            )
        return matches[0]


class _Ambiguous(Exception):
    pass


def wanted_at_start(expected: Sequence[Any], trigger: Mapping[str, Any]) -> list[int]:
    """Indexes of the pipeline's expected artifacts resolved when it starts.

    Orca resolves those the trigger names in ``expectedArtifactIds`` and those with a default or
    prior artifact to fall back on; the others are left out. A manual or API start that names no
    ``expectedArtifactIds`` expects every one (Deck's run dialog asks for all of them)."""
    ids = trigger.get("expectedArtifactIds")
    every = not isinstance(ids, list) and str(trigger.get("type") or "manual").lower() == "manual"
    wanted: list[int] = []
    for index, entry in enumerate(expected):
        if not isinstance(entry, Mapping):
            continue
        if (
            every
            or (isinstance(ids, list) and entry.get("id") in ids)
            or entry.get("useDefaultArtifact") is True
            or entry.get("usePriorArtifact") is True
        ):
            wanted.append(index)
    return wanted


def resolve_at_start(
    expected: Sequence[Any],
    trigger: Mapping[str, Any],
    prior: Callable[[], Sequence[Mapping[str, Any]]] | None = None,
) -> tuple[list[Json], list[Json]]:
    """(trigger ``artifacts``, ``resolvedExpectedArtifacts``) for a pipeline start: received
    artifacts (``receivedArtifacts`` and ``artifacts`` of the trigger) plus those bound, and the
    bound expected artifacts; InvalidInput naming each expected artifact that could not be bound."""
    received: list[Json] = []
    for source in (trigger.get("receivedArtifacts"), trigger.get("artifacts")):
        for artifact in source if isinstance(source, list) else []:
            if isinstance(artifact, Mapping) and dict(artifact) not in received:
                received.append(dict(artifact))
    indexes = wanted_at_start(expected, trigger)
    resolver = ArtifactResolver(received, prior, require_unique=True)
    result = resolver.resolve([expected[i] for i in indexes], indexes)
    everything = list(received) + [a for a in result.artifacts if a not in received]
    return everything, result.expected


def resolve_expected_artifacts(
    expected: Sequence[Mapping[str, Any]], received: Sequence[Mapping[str, Any]]
) -> list[Json]:
    """Bind every expected artifact to a received one, else its default (no prior execution)."""
    return ArtifactResolver(received, require_unique=False).resolve(expected).expected


def with_match_account(entry: Mapping[str, Any]) -> Json | None:
    """The bound artifact of a resolved expected artifact, its ``artifactAccount`` taken from
    ``matchArtifact`` when blank (Orca's ArtifactUtils.getBoundArtifact)."""
    bound = entry.get("boundArtifact")
    if not isinstance(bound, Mapping):
        return None
    out = dict(bound)
    match = entry.get("matchArtifact")
    if not out.get("artifactAccount") and isinstance(match, Mapping) and match.get("artifactAccount"):
        out["artifactAccount"] = match["artifactAccount"]
    return out
