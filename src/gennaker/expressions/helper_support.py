"""What the helper functions share: argument checks, String parameters, the execution's stages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.expressions.errors import ExpressionError, helper_error
from gennaker.expressions.jformat import convert_to_string
from gennaker.expressions.limits import Env


def check_arity(name: str, args: list[Any], *counts: int) -> None:
    """Raise unless the helper got one of ``counts`` arguments."""
    if len(args) not in counts:
        raise ExpressionError(
            f"EL1023E: A problem occurred whilst attempting to invoke the function '{name}': "
            f"incorrect number of arguments ({len(args)})"
        )


def text_param(value: Any) -> str | None:
    """A String parameter: SpEL converts other values to String before the call."""
    if value is None or isinstance(value, str):
        return value
    return convert_to_string(value)


def execution_of(env: Env, name: str) -> Mapping[str, Any]:
    """The execution a helper works on, or a helper error naming the helper."""
    execution = env.ctx.the_execution()
    if execution is None:
        raise helper_error(f"An execution is required for #{name}")
    return execution


def stages_of(env: Env, name: str) -> list[Mapping[str, Any]]:
    """The execution's stage mappings, in order."""
    stages = execution_of(env, name).get("stages") or []
    return [s for s in stages if isinstance(s, Mapping)]


def matches_id(stage: Mapping[str, Any], ident: str | None) -> bool:
    """Whether a stage's name or id equals ``ident``."""
    return ident is not None and (ident == stage.get("name") or ident == stage.get("id"))
