"""Permission maps (Fiat's ``Permissions``): an action -> the roles granted it, as applications
(Front50's ``permissions``) and accounts (Clouddriver's) store them."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from gennaker.errors import FieldError, InvalidInput


class Action(StrEnum):
    """Fiat's ``Authorization`` values."""

    READ = "READ"
    WRITE = "WRITE"
    EXECUTE = "EXECUTE"
    CREATE = "CREATE"


#: What an application's permissions may name (Front50's application ``permissions``).
APPLICATION_ACTIONS = (Action.READ, Action.WRITE, Action.EXECUTE, Action.CREATE)
#: What an account's permissions may name (Clouddriver's account ``permissions``).
ACCOUNT_ACTIONS = (Action.READ, Action.WRITE, Action.EXECUTE)

Permissions = dict[Action, frozenset[str]]


def parse_permissions(
    value: Any, path: str = "$.permissions", allowed: tuple[Action, ...] = APPLICATION_ACTIONS
) -> Permissions:
    """``{"READ": ["team"], ...}`` as a map of action to lower-case role names; InvalidInput at the
    JSON path for anything else (an unknown action, a role that is not a non-empty string)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput("", [FieldError(path, "must be an object of action -> list of roles")])
    errors: list[FieldError] = []
    out: Permissions = {}
    names = ", ".join(a.value for a in allowed)
    for key, roles in value.items():
        where = f"{path}.{key}"
        action = Action.__members__.get(str(key).upper()) if isinstance(key, str) else None
        if action is None or action not in allowed:
            errors.append(FieldError(where, f"unknown action {key!r}; actions are {names}"))
            continue
        if not isinstance(roles, list):
            errors.append(FieldError(where, "must be a list of role names"))
            continue
        parsed: set[str] = set()
        for index, role in enumerate(roles):
            if not isinstance(role, str) or not role.strip():
                errors.append(FieldError(f"{where}[{index}]", "a role must be a non-empty string"))
            else:
                parsed.add(role.strip().lower())
        out[action] = out.get(action, frozenset()) | frozenset(parsed)
    if errors:
        raise InvalidInput("", errors)
    return out


def restricted(permissions: Permissions) -> bool:
    """Fiat's ``Permissions.isRestricted``: some action names at least one role."""
    return any(permissions.values())
