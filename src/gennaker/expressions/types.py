"""``T(...)`` and ``new ...``: the classes Spinnaker allows, with the static methods pipelines use.

The allow-list is Spinnaker's (``InstantiationTypeRestrictor``); any other name, ``java.lang.Runtime``
and ``java.lang.System`` included, is an error.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import secrets
import uuid
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import quote_plus

from gennaker.expressions import javatime as jt
from gennaker.expressions import jtemporal as jtm
from gennaker.expressions.errors import ARITHMETIC, ILLEGAL_ARGUMENT, ExpressionError
from gennaker.expressions.jdateformat import new_simple_date_format
from gennaker.expressions.jformat import java_format, java_string_hash, to_java_string
from gennaker.expressions.jlang import (
    BYTE_RANGE,
    INT_RANGE,
    JUUID,
    LONG_RANGE,
    JRandom,
    as_long,
    new_uuid,
    number_arg,
    parse_java_double,
    parse_java_int,
    uuid_from_string,
)
from gennaker.expressions.limits import Env
from gennaker.expressions.objects import JavaObject, Method, TypeRef
from gennaker.expressions.operators import is_list
from gennaker.expressions.values import arity, as_int


def _s(name: str, counts: tuple[int, ...], fn: Callable[..., Any]) -> Method:
    """A static method accepting ``counts`` arguments: ``fn(*args)``."""

    def method(env: Env, target: Any, args: list[Any]) -> Any:
        arity(name, args, *counts)
        return fn(*args)

    return method


def _e(name: str, counts: tuple[int, ...], fn: Callable[..., Any]) -> Method:
    """A static method that needs the evaluation state: ``fn(env, *args)``."""

    def method(env: Env, target: Any, args: list[Any]) -> Any:
        arity(name, args, *counts)
        return fn(env, *args)

    return method


def _checked(value: int, bounds: tuple[int, int] = LONG_RANGE) -> int:
    if not bounds[0] <= value <= bounds[1]:
        raise ExpressionError("integer overflow", ARITHMETIC)
    return value


def _both_int(a: Any, b: Any) -> bool:
    return isinstance(number_arg(a), int) and isinstance(number_arg(b), int)


def _round(x: Any) -> int:
    value = number_arg(x)
    if isinstance(value, int):
        return value
    if math.isnan(value):
        return 0
    if math.isinf(value):
        return LONG_RANGE[1] if value > 0 else LONG_RANGE[0]
    return max(min(math.floor(value + 0.5), LONG_RANGE[1]), LONG_RANGE[0])


def _float_fn(fn: Callable[..., float]) -> Callable[..., float]:
    def call(*args: Any) -> float:
        try:
            return fn(*(float(number_arg(a)) for a in args))
        except (ValueError, OverflowError):
            return math.nan

    return call


def _floor_div(a: Any, b: Any) -> int:
    if as_int(b) == 0:
        raise ExpressionError("/ by zero", ARITHMETIC)
    return as_int(a) // as_int(b)


def _floor_mod(a: Any, b: Any) -> int:
    if as_int(b) == 0:
        raise ExpressionError("/ by zero", ARITHMETIC)
    return as_int(a) % as_int(b)


def _random(env: Env) -> float:
    return secrets.randbits(53) * 2.0**-53


MATH: Mapping[str, Method] = MappingProxyType(
    {
        "max": _s("max", (2,), lambda a, b: max(a, b) if _both_int(a, b) else float(max(a, b))),
        "min": _s("min", (2,), lambda a, b: min(a, b) if _both_int(a, b) else float(min(a, b))),
        "abs": _s("abs", (1,), lambda a: abs(number_arg(a))),
        "round": _s("round", (1,), _round),
        "floor": _s("floor", (1,), _float_fn(lambda a: float(math.floor(a)) if math.isfinite(a) else a)),
        "ceil": _s("ceil", (1,), _float_fn(lambda a: float(math.ceil(a)) if math.isfinite(a) else a)),
        "pow": _s("pow", (2,), _float_fn(math.pow)),
        "sqrt": _s("sqrt", (1,), _float_fn(math.sqrt)),
        "cbrt": _s("cbrt", (1,), _float_fn(lambda a: math.copysign(abs(a) ** (1 / 3), a))),
        "log": _s("log", (1,), _float_fn(math.log)),
        "log10": _s("log10", (1,), _float_fn(math.log10)),
        "exp": _s("exp", (1,), _float_fn(math.exp)),
        "hypot": _s("hypot", (2,), _float_fn(math.hypot)),
        "signum": _s("signum", (1,), _float_fn(lambda a: a if a == 0 or a != a else math.copysign(1.0, a))),
        "floorDiv": _s("floorDiv", (2,), _floor_div),
        "floorMod": _s("floorMod", (2,), _floor_mod),
        "addExact": _s("addExact", (2,), lambda a, b: _checked(as_int(a) + as_int(b))),
        "subtractExact": _s("subtractExact", (2,), lambda a, b: _checked(as_int(a) - as_int(b))),
        "multiplyExact": _s("multiplyExact", (2,), lambda a, b: _checked(as_int(a) * as_int(b))),
        "toIntExact": _s("toIntExact", (1,), lambda a: _checked(as_int(a), INT_RANGE)),
        "random": _e("random", (0,), _random),
    }
)


def _radix_str(value: Any, radix: Any = 10) -> str:
    number, base = as_int(value), as_int(radix)
    if not 2 <= base <= 36:
        base = 10
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    magnitude, out = abs(number), ""
    while True:
        magnitude, rem = divmod(magnitude, base)
        out = digits[rem] + out
        if magnitude == 0:
            break
    return ("-" if number < 0 else "") + out


def _unsigned(value: Any, bits: int, fmt: str) -> str:
    return format(as_int(value) & ((1 << bits) - 1), fmt)


def _integer_like(bounds: tuple[int, int], name: str) -> dict[str, Method]:
    parse = functools.partial(_parse_with_radix, bounds=bounds)
    value_of = functools.partial(_value_of, bounds=bounds)
    return {
        "parse" + name: _s("parse" + name, (1, 2), parse),
        "valueOf": _s("valueOf", (1, 2), value_of),
        "toString": _s("toString", (1, 2), _radix_str),
        "max": _s("max", (2,), lambda a, b: max(as_int(a), as_int(b))),
        "min": _s("min", (2,), lambda a, b: min(as_int(a), as_int(b))),
        "sum": _s("sum", (2,), lambda a, b: as_int(a) + as_int(b)),
        "compare": _s("compare", (2,), lambda a, b: (as_int(a) > as_int(b)) - (as_int(a) < as_int(b))),
        "signum": _s("signum", (1,), lambda a: (as_int(a) > 0) - (as_int(a) < 0)),
    }


def _parse_with_radix(text: Any, radix: Any = 10, *, bounds: tuple[int, int]) -> int:
    return parse_java_int(text, as_int(radix), bounds)


def _value_of(value: Any, radix: Any = 10, *, bounds: tuple[int, int]) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return _checked(value, bounds)
    return parse_java_int(value, as_int(radix), bounds)


INTEGER: Mapping[str, Method] = MappingProxyType(
    {
        **_integer_like(INT_RANGE, "Int"),
        "toHexString": _s("toHexString", (1,), lambda v: _unsigned(v, 32, "x")),
        "toBinaryString": _s("toBinaryString", (1,), lambda v: _unsigned(v, 32, "b")),
        "toOctalString": _s("toOctalString", (1,), lambda v: _unsigned(v, 32, "o")),
    }
)
LONG: Mapping[str, Method] = MappingProxyType(_integer_like(LONG_RANGE, "Long"))
BYTE: Mapping[str, Method] = MappingProxyType(_integer_like(BYTE_RANGE, "Byte"))


def _double_value_of(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return parse_java_double(value)


DOUBLE: Mapping[str, Method] = MappingProxyType(
    {
        "parseDouble": _s("parseDouble", (1,), parse_java_double),
        "valueOf": _s("valueOf", (1,), _double_value_of),
        "toString": _s("toString", (1,), lambda v: to_java_string(float(number_arg(v)))),
        "isNaN": _s("isNaN", (1,), lambda v: math.isnan(number_arg(v))),
        "compare": _s(
            "compare", (2,), lambda a, b: (number_arg(a) > number_arg(b)) - (number_arg(a) < number_arg(b))
        ),
        "max": _s("max", (2,), lambda a, b: float(max(number_arg(a), number_arg(b)))),
        "min": _s("min", (2,), lambda a, b: float(min(number_arg(a), number_arg(b)))),
        "sum": _s("sum", (2,), lambda a, b: float(number_arg(a) + number_arg(b))),
    }
)


def _parse_boolean(value: Any) -> bool:
    return isinstance(value, str) and value.lower() == "true"


def _boolean_value_of(value: Any) -> bool:
    return value if isinstance(value, bool) else _parse_boolean(value)


def _bool_arg(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ExpressionError("a boolean is needed", ILLEGAL_ARGUMENT)


BOOLEAN: Mapping[str, Method] = MappingProxyType(
    {
        "parseBoolean": _s("parseBoolean", (1,), _parse_boolean),
        "valueOf": _s("valueOf", (1,), _boolean_value_of),
        "toString": _s("toString", (1,), lambda b: "true" if _bool_arg(b) else "false"),
        "logicalAnd": _s("logicalAnd", (2,), lambda a, b: _bool_arg(a) and _bool_arg(b)),
        "logicalOr": _s("logicalOr", (2,), lambda a, b: _bool_arg(a) or _bool_arg(b)),
        "logicalXor": _s("logicalXor", (2,), lambda a, b: _bool_arg(a) != _bool_arg(b)),
        "compare": _s("compare", (2,), lambda a, b: int(_bool_arg(a)) - int(_bool_arg(b))),
    }
)


def _format(env: Env, target: Any, args: list[Any]) -> str:
    if not args or not isinstance(args[0], str):
        raise ExpressionError("String.format() needs a format String", ILLEGAL_ARGUMENT)
    rest = args[1:]
    if len(rest) == 1 and is_list(rest[0]):
        rest = list(rest[0])
    return env.new_str(java_format(args[0], rest))


def _join(env: Env, target: Any, args: list[Any]) -> str:
    if not args or not isinstance(args[0], str):
        raise ExpressionError("String.join() needs a delimiter String", ILLEGAL_ARGUMENT)
    items = list(args[1]) if len(args) == 2 and is_list(args[1]) else args[1:]
    env.check_collection_size(len(items))
    return env.new_str(args[0].join(to_java_string(item) for item in items))


STRING: Mapping[str, Method] = MappingProxyType(
    {
        "valueOf": _e("valueOf", (1,), lambda env, v: env.new_str(to_java_string(v))),
        "format": _format,
        "join": _join,
        "hashCode": _s("hashCode", (1,), java_string_hash),
    }
)


def _url_encode(text: Any, encoding: Any = "UTF-8") -> str:
    if not isinstance(text, str):
        raise ExpressionError("URLEncoder.encode() needs a String", "java.lang.NullPointerException")
    name = encoding.java_str() if isinstance(encoding, JavaObject) else encoding
    try:
        encoded = quote_plus(text, safe="*", encoding=str(name))
    except LookupError as exc:
        raise ExpressionError(str(name), "java.io.UnsupportedEncodingException") from exc
    return encoded.replace("~", "%7E")


def _now_instant(env: Env) -> jt.JInstant:
    return jt.JInstant(jtm.moment_now(env))


def _local_date(year: Any, month: Any, day: Any) -> jt.JLocalDate:
    try:
        return jt.JLocalDate(dt.date(as_int(year), as_int(month), as_int(day)))
    except ValueError as exc:
        raise ExpressionError(f"Invalid date: {exc}", "java.time.DateTimeException") from exc


def _local_date_time(*parts: Any) -> jt.JLocalDateTime:
    try:
        numbers = [as_int(p) for p in parts] + [0]
        return jt.JLocalDateTime(
            dt.datetime(numbers[0], numbers[1], numbers[2], numbers[3], numbers[4], numbers[5])
        )
    except ValueError as exc:
        raise ExpressionError(f"Invalid date: {exc}", "java.time.DateTimeException") from exc


def _enum_fields(names: list[str], make: Callable[[str], Any]) -> dict[str, Callable[[], Any]]:
    return {name: functools.partial(make, name) for name in names}


def _new(fn: Callable[..., Any], counts: tuple[int, ...], needs_env: bool = False) -> Method:
    return (_e if needs_env else _s)("<init>", counts, fn)


def _new_date(env: Env, ms: Any = None) -> jt.JDate:
    return jt.JDate(jtm.now_ms(env) if ms is None else as_long(ms))


def _types() -> dict[str, TypeRef]:
    day_names = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
    unit_names = list(jtm.UNITS)
    specs: list[tuple[str, Mapping[str, Method], dict[str, Callable[[], Any]], Method | None]] = [
        ("java.lang.Math", MATH, {"PI": lambda: math.pi, "E": lambda: math.e}, None),
        ("java.lang.Integer", INTEGER, {"MAX_VALUE": lambda: INT_RANGE[1], "MIN_VALUE": lambda: INT_RANGE[0]},
         _new(lambda v: _value_of(v, bounds=INT_RANGE), (1,))),
        ("java.lang.Long", LONG, {"MAX_VALUE": lambda: LONG_RANGE[1], "MIN_VALUE": lambda: LONG_RANGE[0]},
         _new(lambda v: _value_of(v, bounds=LONG_RANGE), (1,))),
        ("java.lang.Byte", BYTE, {"MAX_VALUE": lambda: BYTE_RANGE[1], "MIN_VALUE": lambda: BYTE_RANGE[0]},
         _new(lambda v: _value_of(v, bounds=BYTE_RANGE), (1,))),
        ("java.lang.Double", DOUBLE, {"MAX_VALUE": lambda: 1.7976931348623157e308, "MIN_VALUE": lambda: 5e-324},
         _new(_double_value_of, (1,))),
        ("java.lang.Boolean", BOOLEAN, {"TRUE": lambda: True, "FALSE": lambda: False},
         _new(_boolean_value_of, (1,))),
        ("java.lang.String", STRING, {}, _new(lambda v="": v if isinstance(v, str) else to_java_string(v), (0, 1))),
        ("java.util.UUID", {"randomUUID": _s("randomUUID", (0,), lambda: JUUID(uuid.uuid4())),
                            "fromString": _s("fromString", (1,), uuid_from_string)}, {}, _new(new_uuid, (2,))),
        ("java.util.Random", {}, {}, _new(lambda seed=None: JRandom(None if seed is None else as_long(seed)), (0, 1))),
        ("java.util.Date", {}, {}, _new(_new_date, (0, 1), needs_env=True)),
        ("java.text.SimpleDateFormat", {}, {}, new_simple_date_format),
        ("java.net.URLEncoder", {"encode": _s("encode", (1, 2), _url_encode)}, {}, None),
        ("java.time.Instant", {
            "now": _e("now", (0,), _now_instant),
            "ofEpochMilli": _s("ofEpochMilli", (1,), lambda ms: jt.JInstant.of_ms(as_int(ms))),
            "ofEpochSecond": _s("ofEpochSecond", (1,), lambda s: jt.JInstant.of_ms(as_int(s) * 1000)),
            "parse": _s("parse", (1,), lambda t: jt.parse_iso("Instant", t)),
        }, {"EPOCH": lambda: jt.JInstant.of_ms(0)}, None),
        ("java.time.LocalDate", {
            "now": _e("now", (0,), lambda env: jt.JLocalDate(jtm.moment_now(env).date())),
            "of": _s("of", (3,), _local_date),
            "parse": _s("parse", (1,), lambda t: jt.parse_iso("LocalDate", t)),
            "ofEpochDay": _s("ofEpochDay", (1,), lambda n: jt.JLocalDate(
                dt.date(1970, 1, 1) + dt.timedelta(days=as_int(n)))),
        }, {}, None),
        ("java.time.LocalDateTime", {
            "now": _e("now", (0,), lambda env: jt.JLocalDateTime(jtm.moment_now(env).replace(tzinfo=None))),
            "of": _s("of", (5, 6), _local_date_time),
            "parse": _s("parse", (1,), lambda t: jt.parse_iso("LocalDateTime", t)),
        }, {}, None),
        ("java.time.DayOfWeek", {
            "of": _s("of", (1,), jtm.day_of_week),
            "valueOf": _s("valueOf", (1,), jtm.day_of_week),
        }, _enum_fields(day_names, jtm.day_of_week), None),
        ("java.time.temporal.ChronoUnit", {
            "valueOf": _s("valueOf", (1,), _chrono_unit),
        }, _enum_fields(unit_names, jtm.JChronoUnit), None),
        ("java.time.temporal.TemporalAdjusters", jtm.ADJUSTERS, {}, None),
    ]  # fmt: skip
    registry = {
        name: TypeRef(name, MappingProxyType(statics), MappingProxyType(fields), ctor)
        for name, statics, fields, ctor in specs
    }
    for name in ("Math", "Integer", "Long", "Byte", "Double", "Boolean", "String"):
        registry[name] = registry["java.lang." + name]
    return registry


def _chrono_unit(name: Any) -> jtm.JChronoUnit:
    if not isinstance(name, str) or name not in jtm.UNITS:
        raise ExpressionError(f"No enum constant java.time.temporal.ChronoUnit.{name}", ILLEGAL_ARGUMENT)
    return jtm.JChronoUnit(name)


@functools.cache
def _registry() -> Mapping[str, TypeRef]:
    return MappingProxyType(_types())


def find_type(name: str) -> TypeRef:
    """``T(name)``: an allowed class, or an error naming the refused one."""
    ref = _registry().get(name)
    if ref is None:
        raise ExpressionError(f"EL1005E: Type cannot be found or is not allowed in expressions: '{name}'")
    return ref


def construct(env: Env, name: str, args: list[Any]) -> Any:
    """``new name(args)`` for an allowed class with a public constructor."""
    ref = find_type(name)
    if ref.constructor is None:
        raise ExpressionError(f"EL1002E: Constructor call: No suitable constructor found on type {name}")
    return ref.constructor(env, ref, args)
