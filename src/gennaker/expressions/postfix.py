"""Runtime pieces of compiled expressions: step accounting, property/index/method steps of a
chain (``a.b?.c[0].m()``), and collection selection/projection (``.?[]`` ``.^[]`` ``.$[]`` ``.![]``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lark import Tree

from gennaker.expressions.errors import ExpressionError
from gennaker.expressions.jformat import to_java_string
from gennaker.expressions.limits import Env
from gennaker.expressions.objects import MapEntry, type_name
from gennaker.expressions.operators import is_list
from gennaker.expressions.values import MISSING, call_method, get_index, get_property

Node = Callable[[Env], Any]
Op = Callable[[Env, Any], Any]


def tick(env: Env) -> None:
    """Spend one evaluation step."""
    env.budget -= 1
    if env.budget < 0:
        env.refill()


def property_of_this(name: str) -> Node:
    """A bare name: a property of the active object (the root, or ``#this`` in a selection)."""

    def node(env: Env) -> Any:
        env.budget -= 1
        if env.budget < 0:
            env.refill()
        target = env.this
        if type(target) is dict:
            value = target.get(name, MISSING)
            if value is not MISSING:
                return value
        return get_property(env, target, name)

    return node


def chain(base: Node, steps: list[Op]) -> Node:
    """Apply ``steps`` left to right to the value of ``base``."""
    if len(steps) == 1:
        only = steps[0]
        return lambda env: only(env, base(env))

    def node(env: Env) -> Any:
        value = base(env)
        for step in steps:
            value = step(env, value)
        return value

    return node


def property_op(name: str, safe: bool) -> Op:
    """``.name`` / ``?.name``."""

    def op(env: Env, target: Any) -> Any:
        env.budget -= 1
        if env.budget < 0:
            env.refill()
        if type(target) is dict:
            value = target.get(name, MISSING)
            if value is not MISSING:
                return value
        elif target is None and safe:
            return None
        return get_property(env, target, name)

    return op


def call_op(name: str, args: list[Node], safe: bool) -> Op:
    """``.name(args)`` / ``?.name(args)``; arguments see the scope's active object, not the target."""

    def op(env: Env, target: Any) -> Any:
        tick(env)
        if target is None and safe:
            return None
        return call_method(env, target, name, [a(env) for a in args])

    return op


def bare_name(tree: Any) -> str | None:
    """The name when an index or map key is written as a bare identifier (``m[key]``, ``{a:1}``)."""
    if isinstance(tree, Tree) and tree.data == "prop_ref":
        return str(tree.children[0])
    return None


def index_op(index: Node, name: str | None, safe: bool) -> Op:
    """``[index]`` / ``?.[index]``; on a map a bare name is the key itself, as in SpEL."""

    def op(env: Env, target: Any) -> Any:
        tick(env)
        if target is None and safe:
            return None
        if name is not None and isinstance(target, Mapping):
            return target.get(name)
        return get_index(env, target, index(env))

    return op


def map_key(key: Any) -> Any:
    """An inline map key: strings stay, other scalars keep their value, anything else its text."""
    if key is None or isinstance(key, (str, int, float, bool)):
        return key
    return to_java_string(key)


def _boolean_criterion(value: Any) -> bool:
    if value is True or value is False:
        return value
    raise ExpressionError(f"EL1039E: Result of selection criteria is not boolean: {type_name(value)}")


def select_op(kind: str, criterion: Node, safe: bool) -> Op:
    """``.?[c]`` (all), ``.^[c]`` (first), ``.$[c]`` (last), ``.![e]`` (projection)."""

    def op(env: Env, target: Any) -> Any:
        tick(env)
        if target is None:
            if safe:
                return None
            raise ExpressionError(
                "EL1001E: Cannot perform " + ("projection" if kind == "!" else "selection") + " on null"
            )
        is_map = isinstance(target, Mapping)
        if is_map:
            items: Any = [MapEntry(k, v) for k, v in target.items()]
        elif is_list(target):
            items = target
        else:
            raise ExpressionError(
                f"EL1002E: Cannot perform {'projection' if kind == '!' else 'selection'} "
                f"on type '{type_name(target)}'"
            )
        saved = env.this
        try:
            if kind == "!":
                out = []
                for item in items:
                    tick(env)
                    env.this = item
                    out.append(criterion(env))
                return env.new_list(out)
            if kind == "$":
                items = list(reversed(items))
            chosen = []
            for item in items:
                tick(env)
                env.this = item
                if _boolean_criterion(criterion(env)):
                    chosen.append(item)
                    if kind != "?":
                        break
        finally:
            env.this = saved
        if kind == "?":
            if is_map:
                return {entry.key: entry.value for entry in chosen}
            return env.new_list(chosen)
        if not chosen:
            return None
        if is_map:
            return {chosen[0].key: chosen[0].value}
        return chosen[0]

    return op
