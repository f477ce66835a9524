"""JSONPath as Spinnaker's webhook stage reads it (Jayway JsonPath): a path without ``$`` is
taken from the root; a definite path gives one value (or "not found"), a path with wildcards,
deep scans, filters or slices gives the list of matches."""

from __future__ import annotations

from typing import Any

import orjson
from jsonpath_ng.ext.parser import parse

_INDEFINITE = ("*", "..", "?(", ":", ",")


class InvalidJsonPath(ValueError):
    """The path does not parse."""


class PathNotFound(LookupError):
    """A definite path matched nothing."""


class NotJson(ValueError):
    """The body is not a JSON document."""


def document(body: Any) -> Any:
    """The body as JSON: already parsed, or text that parses."""
    if isinstance(body, str):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise NotJson("the response body is not JSON") from None
    if body is None:
        raise NotJson("the response has no body")
    return body


def read(body: Any, path: str, field: str) -> Any:
    """Apply ``path`` (from the stage field ``field``) to ``body``."""
    text = path.strip()
    expression = text if text.startswith(("$", "@")) else "$." + text
    try:
        compiled = parse(expression)
    except Exception as exc:  # jsonpath-ng raises several unrelated types for bad syntax
        raise InvalidJsonPath(f"{field} {path!r} is not a valid JSONPath: {exc}") from None
    matches = [m.value for m in compiled.find(document(body))]
    if any(token in expression for token in _INDEFINITE):
        return matches
    if not matches:
        raise PathNotFound(f"JSON property {path!r} ({field}) not found in the response body")
    return matches[0]
