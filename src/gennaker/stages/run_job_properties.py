"""Job output that feeds later stages, as Spinnaker reads it from a job's log (kork's
PropertyParser): a line ``SPINNAKER_PROPERTY_<NAME>=<value>`` gives ``{name: value}`` (the name
lower-cased), a line ``SPINNAKER_CONFIG_JSON=<one-line JSON object>`` is merged in (later keys win,
no deep merge). Only whitespace may precede the marker on its line."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson

_PROPERTY = re.compile(r"^\s*SPINNAKER_PROPERTY_(\w+)=(.*)$")
_CONFIG_JSON = re.compile(r"^\s*SPINNAKER_CONFIG_JSON=(.*)$")


class BadPropertyLine(ValueError):
    """A SPINNAKER_CONFIG_JSON line that is not a JSON object."""


def parse_properties(lines: Iterable[str]) -> dict[str, Any]:
    """The properties found in ``lines``; raises BadPropertyLine naming the bad line."""
    found: dict[str, Any] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if "SPINNAKER_" not in line:
            continue
        prop = _PROPERTY.match(line)
        if prop:
            found[prop.group(1).lower()] = prop.group(2).strip()
            continue
        blob = _CONFIG_JSON.match(line)
        if blob:
            try:
                value = orjson.loads(blob.group(1))
            except orjson.JSONDecodeError as exc:
                raise BadPropertyLine(
                    f"line {number}: SPINNAKER_CONFIG_JSON is not valid JSON ({exc})"
                ) from None
            if not isinstance(value, dict):
                raise BadPropertyLine(f"line {number}: SPINNAKER_CONFIG_JSON must be a JSON object")
            found.update(value)
    return found
