"""The few non-JSON values an expression can hold while it runs.

Everything an expression can reach is either plain JSON-like data (Mapping, list/tuple, str, int,
float, bool, None) or one of the classes here. Methods are looked up in explicit tables
(``JavaObject.methods``); nothing ever calls ``getattr`` with a name taken from an expression.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, TypeGuard

if TYPE_CHECKING:
    from gennaker.expressions.limits import Env

# A method implementation: (evaluation state, receiver, arguments) -> result.
Method = Callable[["Env", Any, list[Any]], Any]
EMPTY_METHODS: Mapping[str, Method] = MappingProxyType({})


class JavaObject:
    """Base of the Java-like values (dates, UUIDs, ...) that ``T(...)`` and ``new`` produce."""

    java_class: ClassVar[str] = "java.lang.Object"
    methods: ClassVar[Mapping[str, Method]] = EMPTY_METHODS

    def java_str(self) -> str:
        """Java's ``toString()``."""
        return self.java_class

    def to_json(self) -> Any:
        """The value stored when this object is an expression's result."""
        return self.java_str()

    def sort_key(self) -> Any:
        """A key for ``<``/``>`` when the Java class is Comparable, else None."""
        return None


@dataclass(frozen=True)
class MapEntry:
    """``Map.Entry``: what ``#this`` is in a selection or projection over a map."""

    key: Any
    value: Any


@dataclass(frozen=True)
class NotEvaluable:
    """The result of ``#doNotEval(x)``: ``x``, which is never evaluated again."""

    value: Any


@dataclass(frozen=True)
class TypeRef:
    """``T(java.lang.Math)``: a class whose static methods and fields an expression may use."""

    name: str
    statics: Mapping[str, Method]
    fields: Mapping[str, Callable[[], Any]]
    constructor: Method | None = None


def is_sequence(value: Any) -> TypeGuard[Sequence[Any]]:
    """A list-like value (list, tuple or any other Sequence that is not text)."""
    if isinstance(value, (list, tuple)):
        return True
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def type_name(value: Any) -> str:
    """The Java class name Spinnaker would report for ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer" if -(2**31) <= value < 2**31 else "java.lang.Long"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, Mapping):
        return "java.util.LinkedHashMap"
    if is_sequence(value):
        return "java.util.ArrayList"
    if isinstance(value, JavaObject):
        return value.java_class
    if isinstance(value, MapEntry):
        return "java.util.Map$Entry"
    if isinstance(value, TypeRef):
        return "java.lang.Class"
    if isinstance(value, NotEvaluable):
        return "com.netflix.spinnaker.kork.expressions.NotEvaluableExpression"
    return "java.lang.Object"


def to_plain(value: Any, budget: int) -> Any:
    """Deep-copy a result into plain JSON data (dict/list/str/int/float/bool/None).

    ``budget`` bounds the elements and characters of the copy as it would be written out (shared
    sub-structures, such as YAML aliases, count every time they appear), so a huge, cyclic or too
    deeply nested value is refused with ``ValueError`` before anything is copied.
    """
    if _measure(value, {}, 0) > budget:
        raise ValueError("the result is too large")
    return _plain(value)


_IN_PROGRESS = -1


def _measure(value: Any, memo: dict[int, int], depth: int) -> int:
    if value is None or isinstance(value, (bool, int, float)):
        return 1
    if isinstance(value, str):
        return 1 + (len(value) >> 4)
    if depth > 200:
        raise ValueError("the result is nested too deeply")
    key = id(value)
    known = memo.get(key)
    if known is not None:
        if known == _IN_PROGRESS:
            raise ValueError("the result is cyclic (nested too deeply)")
        return known
    memo[key] = _IN_PROGRESS
    if isinstance(value, Mapping):
        size = 1 + sum(_measure(v, memo, depth + 1) for v in value.values())
    elif is_sequence(value):
        size = 1 + sum(_measure(v, memo, depth + 1) for v in value)
    elif isinstance(value, JavaObject):
        size = 1 + _measure(value.to_json(), memo, depth + 1)
    elif isinstance(value, (MapEntry, NotEvaluable)):
        size = 1 + _measure(value.value, memo, depth + 1)
    else:
        size = 1
    memo[key] = size
    return size


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {(k if isinstance(k, str) else _key(k)): _plain(v) for k, v in value.items()}
    if is_sequence(value):
        return [_plain(v) for v in value]
    if isinstance(value, JavaObject):
        return _plain(value.to_json())
    if isinstance(value, MapEntry):
        return {_key(value.key): _plain(value.value)}
    if isinstance(value, NotEvaluable):
        return _plain(value.value)
    if isinstance(value, TypeRef):
        return value.name
    return None


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, float):
        return repr(key)
    return str(key)
