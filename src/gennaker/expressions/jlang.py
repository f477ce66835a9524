"""Java number parsing, ``java.util.UUID`` and ``java.util.Random`` (Java's exact generator)."""

from __future__ import annotations

import re
import secrets
import uuid
from types import MappingProxyType
from typing import Any

from gennaker.expressions.errors import ILLEGAL_ARGUMENT, NUMBER_FORMAT, ExpressionError
from gennaker.expressions.limits import Env
from gennaker.expressions.objects import JavaObject, Method
from gennaker.expressions.values import arity, as_int

INT_RANGE = (-(2**31), 2**31 - 1)
LONG_RANGE = (-(2**63), 2**63 - 1)
BYTE_RANGE = (-128, 127)
_DOUBLE = re.compile(r"[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[fFdD]?")


def parse_java_int(text: Any, radix: int = 10, bounds: tuple[int, int] = INT_RANGE) -> int:
    """``Integer.parseInt`` / ``Long.parseLong`` / ``Byte.parseByte``: no spaces, no underscores."""
    if not isinstance(text, str):
        if text is None:
            raise ExpressionError("Cannot parse null string: null", NUMBER_FORMAT)
        raise ExpressionError(f'For input string: "{text}"', NUMBER_FORMAT)
    if not 2 <= radix <= 36:
        raise ExpressionError(f"radix {radix} out of range", NUMBER_FORMAT)
    body = text[1:] if text[:1] in "+-" else text
    if not body or any(not c.isascii() or not c.isalnum() or int(c, 36) >= radix for c in body):
        raise ExpressionError(f'For input string: "{text}"', NUMBER_FORMAT)
    if len(body) > 70:
        raise ExpressionError(f'For input string: "{text[:80]}"', NUMBER_FORMAT)
    value = int(text, radix)
    if not bounds[0] <= value <= bounds[1]:
        raise ExpressionError(f'For input string: "{text}"', NUMBER_FORMAT)
    return value


def parse_java_double(text: Any) -> float:
    """``Double.parseDouble``: surrounding whitespace and an ``f``/``d`` suffix are accepted."""
    if not isinstance(text, str):
        if text is None:
            raise ExpressionError("null", "java.lang.NullPointerException")
        raise ExpressionError(f'For input string: "{text}"', NUMBER_FORMAT)
    stripped = text.strip()
    if not _DOUBLE.fullmatch(stripped):
        raise ExpressionError(f'For input string: "{text}"', NUMBER_FORMAT)
    if stripped[-1:] in "fFdD" and not stripped.endswith("Infinity"):
        stripped = stripped[:-1]
    return float(stripped.replace("Infinity", "inf"))


def number_arg(value: Any) -> float | int:
    """A numeric argument of a Math method."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise ExpressionError(f"a number is needed, not {value!r}"[:200], ILLEGAL_ARGUMENT)


class JUUID(JavaObject):
    """``java.util.UUID``."""

    java_class = "java.util.UUID"

    def __init__(self, value: uuid.UUID) -> None:
        self.value = value

    def java_str(self) -> str:
        return str(self.value)

    def sort_key(self) -> Any:
        return self.value.int


def _method(name: str, count: int, fn: Any) -> Method:
    def method(env: Env, target: Any, args: list[Any]) -> Any:
        arity(name, args, count)
        return fn(target, *args)

    return method


_MASK64 = (1 << 64) - 1


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def as_long(value: Any, what: str = "argument") -> int:
    """A ``long`` argument: Spring converts ints (and numeric strings) to long; outside Java's long
    range it is an error, as Java's conversion would be."""
    number = as_int(value, what)
    if not LONG_RANGE[0] <= number <= LONG_RANGE[1]:
        raise ExpressionError(f"EL1001E: Type conversion problem, cannot convert {number} to long ({what})")
    return number


def new_uuid(most: Any, least: Any) -> JUUID:
    """``new UUID(long mostSigBits, long leastSigBits)``."""
    high = as_long(most, "mostSigBits") & _MASK64
    low = as_long(least, "leastSigBits") & _MASK64
    return JUUID(uuid.UUID(int=(high << 64) | low))


JUUID.methods = MappingProxyType(
    {
        "toString": _method("toString", 0, lambda u: u.java_str()),
        "getMostSignificantBits": _method(
            "getMostSignificantBits", 0, lambda u: _signed64(u.value.int >> 64)
        ),
        "getLeastSignificantBits": _method(
            "getLeastSignificantBits", 0, lambda u: _signed64(u.value.int & _MASK64)
        ),
        "equals": _method("equals", 1, lambda u, o: isinstance(o, JUUID) and o.value == u.value),
        "version": _method("version", 0, lambda u: u.value.version or 0),
        "compareTo": _method(
            "compareTo", 1, lambda u, o: (u.value.int > o.value.int) - (u.value.int < o.value.int)
        ),
    }
)


def uuid_from_string(text: Any) -> JUUID:
    """``UUID.fromString``."""
    if not isinstance(text, str) or not re.fullmatch(
        r"[0-9a-fA-F]{1,8}(-[0-9a-fA-F]{1,4}){3}-[0-9a-fA-F]{1,12}", text
    ):
        raise ExpressionError(f"Invalid UUID string: {text}", ILLEGAL_ARGUMENT)
    groups = text.split("-")
    widths = (8, 4, 4, 4, 12)
    return JUUID(uuid.UUID("-".join(g.rjust(w, "0") for g, w in zip(groups, widths, strict=True))))


_MULTIPLIER = 0x5DEECE66D
_MASK = (1 << 48) - 1


def _int32(value: int) -> int:
    return ((value + 2**31) % 2**32) - 2**31


class JRandom(JavaObject):
    """``java.util.Random`` with Java's 48-bit linear congruential generator."""

    java_class = "java.util.Random"

    def __init__(self, seed: int | None = None) -> None:
        if seed is None:
            seed = secrets.randbits(64)
        self.seed = (seed ^ _MULTIPLIER) & _MASK

    def next_bits(self, bits: int) -> int:
        self.seed = (self.seed * _MULTIPLIER + 0xB) & _MASK
        return _int32(self.seed >> (48 - bits)) if bits == 32 else self.seed >> (48 - bits)

    def next_int(self, bound: int | None = None) -> int:
        if bound is None:
            return self.next_bits(32)
        if bound <= 0:
            raise ExpressionError("bound must be positive", ILLEGAL_ARGUMENT)
        r = self.next_bits(31)
        m = bound - 1
        if bound & m == 0:
            return (bound * r) >> 31
        u = r
        r = u % bound
        while _int32(u - r + m) < 0:
            u = self.next_bits(31)
            r = u % bound
        return r

    def next_long(self) -> int:
        high = self.next_bits(32)
        low = self.next_bits(32)
        return ((high << 32) + low + 2**63) % 2**64 - 2**63

    def next_double(self) -> float:
        return ((self.next_bits(26) << 27) + self.next_bits(27)) * 2.0**-53


JRandom.methods = MappingProxyType(
    {
        "nextInt": lambda env, r, args: (
            r.next_int(*(as_int(a) for a in args[:1])) if len(args) <= 1 else _bounded(r, args)
        ),
        "nextLong": _method("nextLong", 0, lambda r: r.next_long()),
        "nextDouble": _method("nextDouble", 0, lambda r: r.next_double()),
        "nextFloat": _method("nextFloat", 0, lambda r: r.next_bits(24) / float(1 << 24)),
        "nextBoolean": _method("nextBoolean", 0, lambda r: r.next_bits(1) != 0),
        "toString": _method("toString", 0, lambda r: r.java_str()),
    }
)


def _bounded(r: JRandom, args: list[Any]) -> int:
    arity("nextInt", args, 2)
    origin, bound = as_int(args[0]), as_int(args[1])
    if origin >= bound:
        raise ExpressionError("bound must be greater than origin", ILLEGAL_ARGUMENT)
    return origin + r.next_int(bound - origin)
