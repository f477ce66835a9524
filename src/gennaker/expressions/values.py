"""Property access, indexing and Java-flavoured method calls on the values an expression holds.

Only the methods in the tables below (and those of ``JavaObject.methods`` / ``TypeRef.statics``)
are reachable; a name that is not in a table is an error, whatever the Python object has.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from gennaker.expressions import strings
from gennaker.expressions.errors import ExpressionError
from gennaker.expressions.jformat import to_java_string
from gennaker.expressions.limits import Env
from gennaker.expressions.objects import JavaObject, MapEntry, Method, NotEvaluable, TypeRef, type_name
from gennaker.expressions.operators import compare, is_list, is_number, java_equals

MISSING: Any = object()


def arity(name: str, args: list[Any], *counts: int) -> None:
    """Raise the Java-like "method not found" error unless ``len(args)`` is one of ``counts``."""
    if len(args) not in counts:
        raise ExpressionError(
            f"EL1004E: Method call: Method {name}() with {len(args)} argument(s) cannot be found"
        )


def as_int(value: Any, what: str = "argument") -> int:
    """An int argument (Java would convert a numeric String too)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ExpressionError(
        f"EL1001E: Type conversion problem, cannot convert {type_name(value)} to int ({what})"
    )


def _hashable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


# -- lists -----------------------------------------------------------------------------------


def _list_get(env: Env, items: Any, args: list[Any]) -> Any:
    arity("get", args, 1)
    index = as_int(args[0], "index")
    if index < 0 or index >= len(items):
        raise ExpressionError(
            f"Index {index} out of bounds for length {len(items)}", "java.lang.IndexOutOfBoundsException"
        )
    return items[index]


def _list_index_of(items: Any, value: Any) -> int:
    for i, item in enumerate(items):
        if java_equals(item, value):
            return i
    return -1


def _list_last_index_of(env: Env, items: Any, args: list[Any]) -> int:
    arity("lastIndexOf", args, 1)
    for i in range(len(items) - 1, -1, -1):
        if java_equals(items[i], args[0]):
            return i
    return -1


def _sub_list(env: Env, items: Any, args: list[Any]) -> list[Any]:
    arity("subList", args, 2)
    start, end = as_int(args[0]), as_int(args[1])
    if start < 0 or end > len(items) or start > end:
        raise ExpressionError(
            f"fromIndex: {start}, toIndex: {end}, size: {len(items)}", "java.lang.IndexOutOfBoundsException"
        )
    return env.new_list(list(items[start:end]))


def _contains_all(env: Env, items: Any, args: list[Any]) -> bool:
    arity("containsAll", args, 1)
    if not is_list(args[0]):
        raise ExpressionError("containsAll() needs a list")
    return all(_list_index_of(items, v) >= 0 for v in args[0])


def _to_string(env: Env, value: Any, args: list[Any]) -> str:
    arity("toString", args, 0)
    return env.new_str(to_java_string(value))


def _equals(env: Env, value: Any, args: list[Any]) -> bool:
    arity("equals", args, 1)
    return java_equals(value, args[0])


def _size(env: Env, value: Any, args: list[Any]) -> int:
    arity("size", args, 0)
    return len(value)


def _is_empty(env: Env, value: Any, args: list[Any]) -> bool:
    arity("isEmpty", args, 0)
    return len(value) == 0


def _contains(env: Env, items: Any, args: list[Any]) -> bool:
    arity("contains", args, 1)
    return _list_index_of(items, args[0]) >= 0


def _index_of(env: Env, items: Any, args: list[Any]) -> int:
    arity("indexOf", args, 1)
    return _list_index_of(items, args[0])


LIST_METHODS: Mapping[str, Method] = MappingProxyType(
    {
        "size": _size,
        "isEmpty": _is_empty,
        "contains": _contains,
        "containsAll": _contains_all,
        "get": _list_get,
        "indexOf": _index_of,
        "lastIndexOf": _list_last_index_of,
        "subList": _sub_list,
        "toString": _to_string,
        "equals": _equals,
    }
)

# -- maps ------------------------------------------------------------------------------------


def _map_get(env: Env, mapping: Any, args: list[Any]) -> Any:
    arity("get", args, 1)
    return mapping.get(args[0]) if _hashable(args[0]) else None


def _map_get_or_default(env: Env, mapping: Any, args: list[Any]) -> Any:
    arity("getOrDefault", args, 2)
    if not _hashable(args[0]):
        return args[1]
    return mapping.get(args[0], args[1])


def _contains_key(env: Env, mapping: Any, args: list[Any]) -> bool:
    arity("containsKey", args, 1)
    return _hashable(args[0]) and args[0] in mapping


def _contains_value(env: Env, mapping: Any, args: list[Any]) -> bool:
    arity("containsValue", args, 1)
    return any(java_equals(v, args[0]) for v in mapping.values())


def _key_set(env: Env, mapping: Any, args: list[Any]) -> list[Any]:
    arity("keySet", args, 0)
    return env.new_list(list(mapping.keys()))


def _values(env: Env, mapping: Any, args: list[Any]) -> list[Any]:
    arity("values", args, 0)
    return env.new_list(list(mapping.values()))


def _entry_set(env: Env, mapping: Any, args: list[Any]) -> list[Any]:
    arity("entrySet", args, 0)
    return env.new_list([MapEntry(k, v) for k, v in mapping.items()])


MAP_METHODS: Mapping[str, Method] = MappingProxyType(
    {
        "size": _size,
        "isEmpty": _is_empty,
        "containsKey": _contains_key,
        "containsValue": _contains_value,
        "get": _map_get,
        "getOrDefault": _map_get_or_default,
        "keySet": _key_set,
        "values": _values,
        "entrySet": _entry_set,
        "toString": _to_string,
        "equals": _equals,
    }
)

# -- numbers, booleans, entries ----------------------------------------------------------------


def _to_int32(value: Any) -> int:
    if isinstance(value, float):
        if value != value:
            return 0
        value = int(max(min(value, 2**31 - 1), -(2**31)))
    return int(((value + 2**31) % 2**32) - 2**31)


def _to_int64(value: Any) -> int:
    if isinstance(value, float):
        if value != value:
            return 0
        value = int(max(min(value, 2**63 - 1), -(2**63)))
    return int(((value + 2**63) % 2**64) - 2**63)


def _number_method(name: str, convert: Any) -> Method:
    def method(env: Env, value: Any, args: list[Any]) -> Any:
        arity(name, args, 0)
        return convert(value)

    return method


def _compare_to(env: Env, value: Any, args: list[Any]) -> int:
    arity("compareTo", args, 1)
    return compare(value, args[0])


def _int_hash(env: Env, value: Any, args: list[Any]) -> int:
    arity("hashCode", args, 0)
    if isinstance(value, float):
        raise ExpressionError("hashCode() of a Double is not supported")
    if -(2**31) <= value < 2**31:
        return int(value)
    return _to_int32(value ^ (value >> 32))


def _is_nan(env: Env, value: Any, args: list[Any]) -> bool:
    arity("isNaN", args, 0)
    return isinstance(value, float) and value != value


def _is_infinite(env: Env, value: Any, args: list[Any]) -> bool:
    arity("isInfinite", args, 0)
    return isinstance(value, float) and value in (float("inf"), float("-inf"))


NUMBER_METHODS: Mapping[str, Method] = MappingProxyType(
    {
        "intValue": _number_method("intValue", _to_int32),
        "longValue": _number_method("longValue", _to_int64),
        "shortValue": _number_method("shortValue", lambda v: ((_to_int32(v) + 2**15) % 2**16) - 2**15),
        "byteValue": _number_method("byteValue", lambda v: ((_to_int32(v) + 128) % 256) - 128),
        "doubleValue": _number_method("doubleValue", float),
        "floatValue": _number_method("floatValue", float),
        "isNaN": _is_nan,
        "isInfinite": _is_infinite,
        "toString": _to_string,
        "equals": _equals,
        "compareTo": _compare_to,
        "hashCode": _int_hash,
    }
)

BOOLEAN_METHODS: Mapping[str, Method] = MappingProxyType(
    {
        "booleanValue": _number_method("booleanValue", bool),
        "toString": _to_string,
        "equals": _equals,
        "compareTo": _compare_to,
        "hashCode": _number_method("hashCode", lambda v: 1231 if v else 1237),
    }
)

ENTRY_METHODS: Mapping[str, Method] = MappingProxyType(
    {
        "getKey": _number_method("getKey", lambda e: e.key),
        "getValue": _number_method("getValue", lambda e: e.value),
        "toString": _to_string,
        "equals": _equals,
    }
)

NOT_EVALUABLE_METHODS: Mapping[str, Method] = MappingProxyType(
    {
        "getExpression": _number_method("getExpression", lambda n: n.value),
        "toString": _to_string,
    }
)


def methods_of(value: Any) -> Mapping[str, Method] | None:
    """The method table for a value's type, or None when it has no methods (null)."""
    if isinstance(value, str):
        return strings.STRING_METHODS
    if isinstance(value, Mapping):
        return MAP_METHODS
    if is_list(value):
        return LIST_METHODS
    if isinstance(value, bool):
        return BOOLEAN_METHODS
    if is_number(value):
        return NUMBER_METHODS
    if isinstance(value, JavaObject):
        return value.methods
    if isinstance(value, MapEntry):
        return ENTRY_METHODS
    if isinstance(value, TypeRef):
        return value.statics
    if isinstance(value, NotEvaluable):
        return NOT_EVALUABLE_METHODS
    return None


def call_method(env: Env, target: Any, name: str, args: list[Any]) -> Any:
    """``target.name(args)``."""
    table = methods_of(target)
    if table is None:
        if target is None:
            raise ExpressionError(
                f"EL1011E: Method call: Attempted to call method {name}() on null context object"
            )
        raise ExpressionError(
            f"EL1004E: Method call: Method {name}() cannot be found on type {type_name(target)}"
        )
    method = table.get(name)
    if method is None:
        raise ExpressionError(
            f"EL1004E: Method call: Method {name}() cannot be found on type {type_name(target)}"
        )
    return method(env, target, args)


def _property_error(name: str, target: Any) -> ExpressionError:
    if target is None:
        return ExpressionError(f"EL1007E: Property or field '{name}' cannot be found on null")
    return ExpressionError(
        f"EL1008E: Property or field '{name}' cannot be found on object of type '{type_name(target)}' "
        "- maybe not public or not valid?"
    )


def get_property(env: Env, target: Any, name: str) -> Any:
    """``target.name``: a map key, a static field, or a Java bean getter (``getName``/``isName``)."""
    if isinstance(target, Mapping):
        value = target.get(name, MISSING)
        if value is not MISSING:
            return value
        if env.allow_unknown:
            return None
        raise _property_error(name, target)
    if isinstance(target, TypeRef):
        field = target.fields.get(name)
        if field is not None:
            return field()
        raise _property_error(name, target)
    if isinstance(target, MapEntry):
        if name == "key":
            return target.key
        if name == "value":
            return target.value
        raise _property_error(name, target)
    if name == "length" and is_list(target):
        return len(target)  # Java arrays (what split() returns in Spinnaker) have .length
    table = methods_of(target)
    if table is not None and name:
        suffix = name[0].upper() + name[1:]
        getter = table.get("get" + suffix) or table.get("is" + suffix)
        if getter is not None:
            return getter(env, target, [])
    raise _property_error(name, target)


def get_index(env: Env, target: Any, index: Any) -> Any:
    """``target[index]``: a map lookup (null when absent), a list element, a character."""
    if isinstance(target, Mapping):
        return target.get(index) if _hashable(index) else None
    if is_list(target):
        position = as_int(index, "index")
        if position < 0 or position >= len(target):
            raise ExpressionError(
                f"EL1025E: The collection has '{len(target)}' elements, index '{position}' is invalid"
            )
        return target[position]
    if isinstance(target, str):
        position = as_int(index, "index")
        if position < 0 or position >= len(target):
            raise ExpressionError(f"EL1020E: String index out of bounds: {position}")
        return target[position]
    if target is None:
        raise ExpressionError("EL1012E: Cannot index into a null value")
    if isinstance(index, str):
        return get_property(env, target, index)
    raise ExpressionError(f"EL1027E: Indexing into type '{type_name(target)}' is not supported")
