"""SpEL's operators with Java's number, string and equality rules."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from gennaker.expressions.errors import ARITHMETIC, ExpressionError
from gennaker.expressions.jformat import convert_to_string
from gennaker.expressions.limits import Env
from gennaker.expressions.objects import JavaObject, MapEntry, NotEvaluable, TypeRef, is_sequence, type_name
from gennaker.expressions.strings import matches

_LONG_MIN = -(2**63)
_LONG_MAX = 2**63 - 1


def is_number(value: Any) -> bool:
    """An int or float that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_list(value: Any) -> bool:
    """A list or tuple (the sequences expressions treat as Java lists)."""
    return is_sequence(value)


def _checked(value: int) -> int:
    if value < _LONG_MIN or value > _LONG_MAX:
        raise ExpressionError("numeric overflow: the result does not fit in a Java long", ARITHMETIC)
    return value


def _float(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        raise ExpressionError(
            "numeric overflow: the number does not fit in a Java double", ARITHMETIC
        ) from None


def _unsupported(op: str, left: Any, right: Any) -> ExpressionError:
    return ExpressionError(
        f"EL1030E: The operator '{op}' is not supported between objects of type "
        f"'{type_name(left)}' and '{type_name(right)}'"
    )


def add(env: Env, left: Any, right: Any) -> Any:
    """``+``: numbers add; with a String on either side, both sides concatenate as text."""
    if isinstance(left, str):
        right_text = (
            right if isinstance(right, str) else "null" if right is None else convert_to_string(right)
        )
        env.check_str_length(len(left) + len(right_text))
        return left + right_text
    if isinstance(right, str):
        left_text = "null" if left is None else convert_to_string(left)
        env.check_str_length(len(left_text) + len(right))
        return left_text + right
    if is_number(left) and is_number(right):
        if isinstance(left, int) and isinstance(right, int):
            return _checked(left + right)
        return _float(left) + _float(right)
    raise _unsupported("ADD", left, right)


def subtract(env: Env, left: Any, right: Any) -> Any:
    """``-`` on numbers."""
    if is_number(left) and is_number(right):
        if isinstance(left, int) and isinstance(right, int):
            return _checked(left - right)
        return _float(left) - _float(right)
    raise _unsupported("SUBTRACT", left, right)


def multiply(env: Env, left: Any, right: Any) -> Any:
    """``*`` on numbers; ``'ab' * 3`` repeats a string."""
    if isinstance(left, str) and isinstance(right, int) and not isinstance(right, bool):
        count = max(right, 0)
        env.check_str_length(len(left) * count)
        return left * count
    if is_number(left) and is_number(right):
        if isinstance(left, int) and isinstance(right, int):
            return _checked(left * right)
        return _float(left) * _float(right)
    raise _unsupported("MULTIPLY", left, right)


def divide(env: Env, left: Any, right: Any) -> Any:
    """``/`` (``div``): integer division truncates toward zero, as in Java."""
    if is_number(left) and is_number(right):
        if right == 0:
            raise ExpressionError("/ by zero", ARITHMETIC)
        if isinstance(left, int) and isinstance(right, int):
            quotient = abs(left) // abs(right)
            return _checked(quotient if (left < 0) == (right < 0) else -quotient)
        return _float(left) / _float(right)
    raise _unsupported("DIVIDE", left, right)


def modulo(env: Env, left: Any, right: Any) -> Any:
    """``%`` (``mod``): Java's remainder, which takes the sign of the dividend."""
    if is_number(left) and is_number(right):
        if right == 0:
            raise ExpressionError("/ by zero", ARITHMETIC)
        if isinstance(left, int) and isinstance(right, int):
            remainder = abs(left) % abs(right)
            return remainder if left >= 0 else -remainder
        try:
            return math.fmod(_float(left), _float(right))
        except ValueError:
            return math.nan
    raise _unsupported("MODULUS", left, right)


def power(env: Env, left: Any, right: Any) -> Any:
    """``^``: integer powers stay integers (truncated for negative exponents), as SpEL does."""
    if is_number(left) and is_number(right):
        if isinstance(left, int) and isinstance(right, int):
            if right < 0:
                return int(math.pow(left, right)) if left != 0 else _zero_power()
            if left not in (-1, 0, 1) and right * max(left.bit_length(), 1) > 130:
                raise ExpressionError("numeric overflow: the result does not fit in a Java long", ARITHMETIC)
            return _checked(left**right)
        try:
            return math.pow(_float(left), _float(right))
        except (OverflowError, ValueError) as exc:
            raise ExpressionError(f"power failed: {exc}", ARITHMETIC) from exc
    raise _unsupported("POWER", left, right)


def _zero_power() -> int:
    raise ExpressionError("/ by zero", ARITHMETIC)


def negate(env: Env, value: Any) -> Any:
    """Unary ``-``."""
    if is_number(value):
        return _checked(-value) if isinstance(value, int) else -value
    raise ExpressionError(f"EL1030E: The operator 'SUBTRACT' is not supported on type '{type_name(value)}'")


def plus(env: Env, value: Any) -> Any:
    """Unary ``+``."""
    if is_number(value):
        return value
    raise ExpressionError(f"EL1030E: The operator 'ADD' is not supported on type '{type_name(value)}'")


_TRUE_WORDS = frozenset(("true", "on", "yes", "1"))
_FALSE_WORDS = frozenset(("false", "off", "no", "0"))


def to_boolean(value: Any) -> bool:
    """Spring's conversion of an operand of and/or/not/?: to boolean (``'yes'`` counts as true)."""
    if value is True or value is False:
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise ExpressionError(f"EL1001E: Type conversion problem, cannot convert '{value}' to boolean")
    if value is None:
        raise ExpressionError("EL1001E: Type conversion problem, cannot convert from null to boolean")
    raise ExpressionError(
        f"EL1001E: Type conversion problem, cannot convert from {type_name(value)} to java.lang.Boolean"
    )


def java_equals(left: Any, right: Any) -> bool:
    """Java ``equals`` (deep for collections): ``1`` and ``1.0`` differ, ``true`` and ``1`` differ."""
    if left is None or right is None:
        return left is right
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, int) and isinstance(right, int):
        return left == right
    if isinstance(left, float) and isinstance(right, float):
        return left == right or (math.isnan(left) and math.isnan(right))
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    if is_list(left) and is_list(right):
        return len(left) == len(right) and all(java_equals(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        if len(left) != len(right):
            return False
        for key, value in left.items():
            other = right.get(key, _ABSENT)
            if other is _ABSENT or not java_equals(value, other):
                return False
        return True
    if isinstance(left, MapEntry) and isinstance(right, MapEntry):
        return java_equals(left.key, right.key) and java_equals(left.value, right.value)
    if isinstance(left, NotEvaluable) and isinstance(right, NotEvaluable):
        return left is right
    if isinstance(left, TypeRef) and isinstance(right, TypeRef):
        return left.name == right.name
    if isinstance(left, JavaObject) and isinstance(right, JavaObject):
        return type(left) is type(right) and left.sort_key() == right.sort_key()
    return False


_ABSENT = object()


def spel_equals(left: Any, right: Any) -> bool:
    """SpEL ``==``: numbers compare by value across types, else Java ``equals``."""
    if is_number(left) and is_number(right):
        return bool(left == right)
    return java_equals(left, right)


def compare(left: Any, right: Any) -> int:
    """SpEL's type comparator: null sorts first; numbers, strings, booleans, dates compare."""
    if left is None:
        return 0 if right is None else -1
    if right is None:
        return 1
    if is_number(left) and is_number(right):
        return int(left > right) - int(left < right)
    if isinstance(left, str) and isinstance(right, str):
        return (left > right) - (left < right)
    if isinstance(left, bool) and isinstance(right, bool):
        return int(left) - int(right)
    if isinstance(left, JavaObject) and type(left) is type(right):
        a, b = left.sort_key(), right.sort_key()
        if a is not None and b is not None:
            return int(a > b) - int(a < b)
    raise ExpressionError(f"EL1013E: Cannot compare instances of {type_name(left)} and {type_name(right)}")


def between(left: Any, right: Any) -> bool:
    """``x between {low, high}``, both ends included."""
    if not is_list(right) or len(right) != 2:
        raise ExpressionError(
            "EL1040E: Right operand for the 'between' operator has to be a two-element list"
        )
    return compare(left, right[0]) >= 0 and compare(left, right[1]) <= 0


def instance_of(left: Any, right: Any) -> bool:
    """``x instanceof T(String)``."""
    if not isinstance(right, TypeRef):
        raise ExpressionError("EL1064E: The right operand of instanceof must be a class")
    if left is None:
        return False
    actual = type_name(left)
    if right.name == "java.lang.Number":
        return is_number(left)
    if right.name == "java.lang.Long" and actual == "java.lang.Integer":
        return False
    return actual == right.name


def _matches(env: Env, left: Any, right: Any) -> bool:
    if not isinstance(left, str):
        raise ExpressionError(f"EL1067E: Invalid first operand for matches operator: {type_name(left)}")
    if not isinstance(right, str):
        raise ExpressionError(f"EL1066E: Invalid second operand for matches operator: {type_name(right)}")
    return matches(env, left, right)


# The relational operators by their (lower-cased) token.
COMPARISONS: Mapping[str, Callable[[Env, Any, Any], bool]] = MappingProxyType(
    {
        "==": lambda env, a, b: spel_equals(a, b),
        "eq": lambda env, a, b: spel_equals(a, b),
        "!=": lambda env, a, b: not spel_equals(a, b),
        "ne": lambda env, a, b: not spel_equals(a, b),
        "<": lambda env, a, b: compare(a, b) < 0,
        "lt": lambda env, a, b: compare(a, b) < 0,
        ">": lambda env, a, b: compare(a, b) > 0,
        "gt": lambda env, a, b: compare(a, b) > 0,
        "<=": lambda env, a, b: compare(a, b) <= 0,
        "le": lambda env, a, b: compare(a, b) <= 0,
        ">=": lambda env, a, b: compare(a, b) >= 0,
        "ge": lambda env, a, b: compare(a, b) >= 0,
        "matches": _matches,
        "between": lambda env, a, b: between(a, b),
        "instanceof": lambda env, a, b: instance_of(a, b),
    }
)
