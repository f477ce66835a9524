"""Checks of the list-valued fields of a pipeline config: parameters, triggers, notifications, locks.

Each function takes the value found at ``path`` and appends what is wrong to ``errors``. A null
list counts as absent, as Front50 treats it (it defaults ``triggers`` and friends to ``[]``).
"""

from __future__ import annotations

import math
from typing import Any

from gennaker.errors import FieldError

#: Lock modes (Gennaker's ``locks`` addition); the first is the default.
LOCK_MODES = ("oldest_first", "newest_first")


def _is_blank(value: object) -> bool:
    return not isinstance(value, str) or not value.strip()


def _objects(value: object, path: str, errors: list[FieldError]) -> list[tuple[str, dict[str, Any]]]:
    """The (path, object) entries of a list; reports a non-list and entries that are not objects."""
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append(FieldError(path, "must be a list"))
        return []
    entries = []
    for index, entry in enumerate(value):
        entry_path = f"{path}[{index}]"
        if isinstance(entry, dict):
            entries.append((entry_path, entry))
        else:
            errors.append(FieldError(entry_path, "must be an object"))
    return entries


def check_parameter_config(value: object, path: str, errors: list[FieldError]) -> None:
    """``parameterConfig``: named, unique parameters whose options are ``{value}`` objects."""
    names: dict[str, str] = {}
    for entry_path, param in _objects(value, path, errors):
        name = param.get("name")
        if _is_blank(name):
            errors.append(FieldError(f"{entry_path}.name", "is required"))
        else:
            assert isinstance(name, str)
            if name in names:
                errors.append(
                    FieldError(
                        f"{entry_path}.name", f"duplicate parameter name '{name}' (also at {names[name]})"
                    )
                )
            else:
                names[name] = entry_path
        option_values = _option_values(param.get("options"), f"{entry_path}.options", errors)
        default = param.get("default")
        if (
            param.get("hasOptions") is True
            and param.get("required") is True
            and option_values is not None
            and default not in (None, "")
            and str(default) not in option_values
        ):
            choices = ", ".join(option_values) or "none"
            errors.append(
                FieldError(f"{entry_path}.default", f"'{default}' is not one of the options ({choices})")
            )


def _option_values(value: object, path: str, errors: list[FieldError]) -> list[str] | None:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append(FieldError(path, "must be a list of {value} objects"))
        return None
    values: list[str] | None = []
    for index, option in enumerate(value):
        if not isinstance(option, dict) or option.get("value") is None:
            errors.append(FieldError(f"{path}[{index}]", "must be an object with a value"))
            values = None
        elif values is not None:
            values.append(str(option["value"]))
    return values


def check_triggers(value: object, path: str, errors: list[FieldError]) -> None:
    """``triggers``: objects with a type."""
    for entry_path, trigger in _objects(value, path, errors):
        if _is_blank(trigger.get("type")):
            errors.append(FieldError(f"{entry_path}.type", "is required"))


def check_notifications(value: object, path: str, errors: list[FieldError]) -> None:
    """``notifications`` (pipeline or stage level): objects with a type and a list of ``when`` events."""
    for entry_path, notification in _objects(value, path, errors):
        if _is_blank(notification.get("type")):
            errors.append(FieldError(f"{entry_path}.type", "is required"))
        when = notification.get("when")
        if when is not None and (not isinstance(when, list) or not all(isinstance(w, str) for w in when)):
            errors.append(FieldError(f"{entry_path}.when", "must be a list of event names"))


def check_locks(value: object, path: str, errors: list[FieldError]) -> None:
    """Gennaker's ``locks``: ``{name, mode}`` objects with distinct names."""
    names: dict[str, str] = {}
    for entry_path, lock in _objects(value, path, errors):
        name = lock.get("name")
        if _is_blank(name):
            errors.append(FieldError(f"{entry_path}.name", "is required (a non-empty string)"))
        else:
            assert isinstance(name, str)
            if name in names:
                errors.append(
                    FieldError(f"{entry_path}.name", f"duplicate lock '{name}' (also at {names[name]})")
                )
            else:
                names[name] = entry_path
        mode = lock.get("mode")
        if mode is not None and mode not in LOCK_MODES:
            errors.append(FieldError(f"{entry_path}.mode", f"must be one of {', '.join(LOCK_MODES)}"))


def lock_specs(config: dict[str, Any]) -> list[dict[str, str]]:
    """The locks of a valid config as ``{name, mode}`` with the default mode filled in."""
    return [
        {"name": lock["name"], "mode": lock.get("mode") or LOCK_MODES[0]}
        for lock in config.get("locks") or []
        if isinstance(lock, dict) and isinstance(lock.get("name"), str)
    ]


def check_retry(value: object, path: str, errors: list[FieldError]) -> None:
    """Gennaker's stage ``retry``: ``{maxAttempts: int >= 1, backoffSeconds: number >= 0}``."""
    if value is None:
        return
    if not isinstance(value, dict):
        errors.append(FieldError(path, "must be an object {maxAttempts, backoffSeconds}"))
        return
    attempts = value.get("maxAttempts")
    if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
        errors.append(FieldError(f"{path}.maxAttempts", "must be an integer >= 1"))
    backoff = value.get("backoffSeconds")
    if backoff is not None and (
        not isinstance(backoff, int | float)
        or isinstance(backoff, bool)
        or not math.isfinite(backoff)
        or backoff < 0
    ):
        errors.append(FieldError(f"{path}.backoffSeconds", "must be a number >= 0"))
