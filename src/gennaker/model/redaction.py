"""Secrets in pipeline JSON are stored as written (the engine needs them) but never read back.

Two kinds of values are secrets: the values of a webhook stage's ``customHeaders`` (bearer
tokens, API keys; ``Content-Type`` and ``Accept`` excepted) and a trigger's ``secret`` (a git
trigger's webhook signing secret). Every read of a pipeline config, of its history and of an
execution (nested copies such as ``trigger.parentExecution`` included) shows ``REDACTED`` instead.

Deck saves back what it read, so a save that still carries ``REDACTED`` keeps the stored value
(``restore``): the same stage (by ``refId``) and header, the same trigger (by ``id``, else by
position and type). A placeholder with nothing stored to keep is refused, naming where it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from gennaker.errors import InvalidInput

REDACTED = "**********"
#: Headers whose values say nothing secret (kept readable).
PLAIN_HEADERS = frozenset({"content-type", "accept"})
#: Substrings that must appear in a JSON text for it to hold anything to redact.
_MARKERS = ('"customHeaders"', '"secret"')


def _headers(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    return {
        name: item if str(name).lower() in PLAIN_HEADERS or item in (None, "") else REDACTED
        for name, item in value.items()
    }


def redact(data: Any) -> Any:
    """A copy of ``data`` with every secret replaced by REDACTED."""
    if isinstance(data, list):
        return [redact(item) for item in data]
    if not isinstance(data, Mapping):
        return data
    out: dict[str, Any] = {}
    is_trigger = "type" in data
    for key, value in data.items():
        if key == "customHeaders":
            out[key] = _headers(value)
        elif key == "secret" and is_trigger and isinstance(value, str) and value:
            out[key] = REDACTED
        else:
            out[key] = redact(value)
    return out


def redact_text(text: str) -> str:
    """``redact`` over a JSON text; texts with nothing to redact are returned as they are."""
    if not any(marker in text for marker in _MARKERS):
        return text
    return orjson.dumps(redact(orjson.loads(text)), option=orjson.OPT_NON_STR_KEYS).decode()


def restore(config: Mapping[str, Any], stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """``config`` with each REDACTED placeholder replaced by the value ``stored`` holds there;
    InvalidInput when a placeholder has no stored value to stand for."""
    result = dict(config)
    for block in ("stages", "finally"):
        stages = config.get(block)
        if isinstance(stages, list):
            result[block] = [
                _restore_stage(stage, _stored_stage(stored, block, stage), f"$.{block}[{i}]")
                for i, stage in enumerate(stages)
            ]
    triggers = config.get("triggers")
    if isinstance(triggers, list):
        old = stored.get("triggers") if stored else None
        old_list = old if isinstance(old, list) else []
        result["triggers"] = [
            _restore_trigger(trigger, _stored_trigger(old_list, i, trigger), f"$.triggers[{i}]")
            for i, trigger in enumerate(triggers)
        ]
    return result


def _stored_stage(stored: Mapping[str, Any] | None, block: str, stage: Any) -> Mapping[str, Any] | None:
    if not stored or not isinstance(stage, Mapping):
        return None
    for old in stored.get(block) or []:
        if isinstance(old, Mapping) and old.get("refId") == stage.get("refId"):
            return old
    return None


def _restore_stage(stage: Any, old: Mapping[str, Any] | None, where: str) -> Any:
    if not isinstance(stage, Mapping) or not isinstance(stage.get("customHeaders"), Mapping):
        return stage
    old_headers = old.get("customHeaders") if old else None
    kept = old_headers if isinstance(old_headers, Mapping) else {}
    headers: dict[str, Any] = {}
    for name, value in stage["customHeaders"].items():
        if value == REDACTED:
            if name not in kept or kept[name] == REDACTED:
                raise InvalidInput(
                    f"{where}.customHeaders.{name}: {REDACTED} stands for a stored value, and none is "
                    "stored for this stage and header; give the header's real value"
                )
            value = kept[name]
        headers[name] = value
    return {**stage, "customHeaders": headers}


def _stored_trigger(old: list[Any], index: int, trigger: Any) -> Mapping[str, Any] | None:
    if not isinstance(trigger, Mapping):
        return None
    if trigger.get("id"):
        for candidate in old:
            if isinstance(candidate, Mapping) and candidate.get("id") == trigger.get("id"):
                return candidate
        return None
    if index < len(old) and isinstance(old[index], Mapping) and old[index].get("type") == trigger.get("type"):
        found: Mapping[str, Any] = old[index]
        return found
    return None


def _restore_trigger(trigger: Any, old: Mapping[str, Any] | None, where: str) -> Any:
    if not isinstance(trigger, Mapping) or trigger.get("secret") != REDACTED:
        return trigger
    if not old or not old.get("secret") or old.get("secret") == REDACTED:
        raise InvalidInput(
            f"{where}.secret: {REDACTED} stands for a stored secret, and none is stored for this "
            "trigger; give the real secret"
        )
    return {**trigger, "secret": old["secret"]}
