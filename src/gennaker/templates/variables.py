"""Template variables: the values a templated pipeline gives, checked against what its template
declares (Orca's V2DefaultVariableAssignmentTransform and ``configurationVariables``).

A value the pipeline does not declare in its template is dropped; a declared variable without a
value takes the template's default; a variable with neither is an error unless it is nullable.
Types are checked as Orca checks them, with two leniencies Orca has or should have had: an ``int``
accepts a float without decimals (Orca does, because Echo's copy of a pipeline loses the types),
and a ``float`` accepts an integer (a JSON ``1`` for a float variable).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gennaker.errors import FieldError

Json = dict[str, Any]


def _declared(template_variables: object) -> list[Json]:
    if not isinstance(template_variables, list):
        return []
    return [v for v in template_variables if isinstance(v, dict) and isinstance(v.get("name"), str)]


def _type_name(value: Any) -> str:
    # The names Orca's message gives (Java's simple class names).
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Double"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "ArrayList"
    if isinstance(value, dict):
        return "LinkedHashMap"
    return type(value).__name__


def _matches(expected: str, value: Any) -> bool:
    expected = expected.lower()
    if expected == "object":
        return True
    if expected == "int":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if expected == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "bool":
        return isinstance(value, bool)
    if expected == "string":
        return isinstance(value, str)
    if expected == "list":
        return isinstance(value, list)
    return _type_name(value).lower() == expected


def resolve_variables(
    template_variables: object, config_variables: object, *, template_name: str
) -> tuple[Json, list[FieldError]]:
    """The ``templateVariables`` of the planned pipeline, and every problem at its JSON path."""
    declared = _declared(template_variables)
    given: Mapping[str, Any] = config_variables if isinstance(config_variables, Mapping) else {}
    errors: list[FieldError] = []
    if config_variables is not None and not isinstance(config_variables, Mapping):
        errors.append(FieldError("$.variables", "must be an object of variable names to values"))
    names = {str(v["name"]) for v in declared}
    for name in given:
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            errors.append(
                FieldError(
                    f"$.variables.{name}",
                    f"is not a variable of template {template_name} (its variables: {known})",
                )
            )
    values: Json = {}
    for variable in declared:
        name = str(variable["name"])
        nullable = variable.get("nullable") is True
        if name in given:
            value = given[name]
        elif variable.get("defaultValue") is not None:
            value = variable["defaultValue"]
        elif nullable:
            value = None
        else:
            errors.append(
                FieldError(
                    f"$.variables.{name}",
                    f"is required by template {template_name}, which gives it no default value",
                )
            )
            continue
        expected = str(variable.get("type") or "object")
        if value is None:
            if not nullable:
                errors.append(FieldError(f"$.variables.{name}", "is null but the variable is not nullable"))
                continue
        elif not _matches(expected, value):
            errors.append(
                FieldError(
                    f"$.variables.{name}",
                    f"must be of type {expected} (found {_type_name(value)})",
                )
            )
            continue
        values[name] = value
    return values, errors


def declared_names(template_variables: object) -> Sequence[str]:
    """The names a template declares, in its order."""
    return [str(v["name"]) for v in _declared(template_variables)]
