"""Java's ways of turning values into text: ``toString()``, Spring's conversion to String,
``Double.toString``, ``String.hashCode`` and ``String.format``."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from gennaker.expressions.errors import ILLEGAL_ARGUMENT, ExpressionError
from gennaker.expressions.objects import JavaObject, MapEntry, NotEvaluable, TypeRef, is_sequence


def java_double_str(value: float) -> str:
    """``Double.toString``: ``1.0``, ``0.001``, ``1.0E7``, ``1.5E-4``, ``NaN``, ``Infinity``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    parts = Decimal(repr(magnitude)).as_tuple()
    digits = "".join(str(d) for d in parts.digits).rstrip("0") or "0"
    exponent = int(parts.exponent) + len(parts.digits) - len(digits)
    sci = len(digits) - 1 + exponent
    if 1e-3 <= magnitude < 1e7:
        if sci >= 0:
            whole = digits[: sci + 1].ljust(sci + 1, "0")
            frac = digits[sci + 1 :] or "0"
            return f"{sign}{whole}.{frac}"
        return f"{sign}0.{'0' * (-sci - 1)}{digits}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{sci}"


def to_java_string(value: Any) -> str:
    """Java's ``String.valueOf(value)`` / ``value.toString()``."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:  # more digits than Python will print
            raise ExpressionError("number too large to print", ILLEGAL_ARGUMENT) from None
    if isinstance(value, float):
        return java_double_str(value)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{to_java_string(k)}={to_java_string(v)}" for k, v in value.items())
        return "{" + inner + "}"
    if is_sequence(value):
        return "[" + ", ".join(to_java_string(v) for v in value) + "]"
    if isinstance(value, JavaObject):
        return value.java_str()
    if isinstance(value, MapEntry):
        return f"{to_java_string(value.key)}={to_java_string(value.value)}"
    if isinstance(value, TypeRef):
        return f"class {value.name}"
    if isinstance(value, NotEvaluable):
        return to_java_string(value.value)
    return "java.lang.Object"


def convert_to_string(value: Any) -> str:
    """Spring's conversion of a value to String (templates, ``+``): collections join with ``,``."""
    if isinstance(value, str):
        return value
    if is_sequence(value):
        return ",".join(convert_to_string(v) for v in value)
    return to_java_string(value)


def java_string_hash(text: str) -> int:
    """``String.hashCode()`` over UTF-16 code units, as a signed 32-bit int."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h >= (1 << 31) else h


_SPEC = re.compile(r"%(\d+\$|<)?([-#+ 0,(]*)(\d+)?(\.\d+)?([a-zA-Z%])")


def _format_error(message: str) -> ExpressionError:
    return ExpressionError(message, "java.util.IllegalFormatException")


def _pad(text: str, flags: str, width: int | None) -> str:
    if width is None or len(text) >= width:
        return text
    if "-" in flags:
        return text.ljust(width)
    if "0" in flags and text[:1] in "+- (" and text[:1]:
        return text[0] + text[1:].rjust(width - 1, "0")
    if "0" in flags:
        return text.rjust(width, "0")
    return text.rjust(width)


def _signed(body: str, negative: bool, flags: str) -> str:
    if negative:
        return f"({body})" if "(" in flags else "-" + body
    if "+" in flags:
        return "+" + body
    if " " in flags:
        return " " + body
    return body


def _format_one(conv: str, flags: str, width: int | None, precision: int | None, arg: Any) -> str:
    lower = conv.lower()
    if lower == "s":
        text = to_java_string(arg)
        if precision is not None:
            text = text[:precision]
        text = _pad(text, flags.replace("0", ""), width)
        return text.upper() if conv == "S" else text
    if lower == "b":
        text = "false" if arg is None or arg is False else "true"
        return _pad(text, flags.replace("0", ""), width)
    if lower == "c":
        if isinstance(arg, str) and len(arg) == 1:
            text = arg
        elif isinstance(arg, int) and not isinstance(arg, bool) and 0 <= arg <= 0x10FFFF:
            text = chr(arg)
        else:
            raise _format_error(f"%c cannot format {to_java_string(arg)}")
        return _pad(text.upper() if conv == "C" else text, flags, width)
    if lower in ("d", "x", "o"):
        if not isinstance(arg, int) or isinstance(arg, bool):
            raise _format_error(f"%{conv} != {type(arg).__name__}: an integer is needed")
        if lower == "d":
            body = f"{abs(arg):,}" if "," in flags else str(abs(arg))
            return _pad(_signed(body, arg < 0, flags), flags, width)
        bits = 32 if -(2**31) <= arg < 2**31 else 64
        unsigned = arg & ((1 << bits) - 1)
        body = format(unsigned, "x" if lower == "x" else "o")
        if "#" in flags:
            body = ("0x" if lower == "x" else "0") + body
        return _pad(body.upper() if conv == "X" else body, flags, width)
    if lower in ("f", "e", "g"):
        if not isinstance(arg, float):
            raise _format_error(f"%{conv} != {type(arg).__name__}: a floating-point number is needed")
        if math.isnan(arg) or math.isinf(arg):
            return _pad(java_double_str(arg), flags.replace("0", ""), width)
        prec = 6 if precision is None else precision
        if lower == "f":
            quantized = Decimal(repr(abs(arg))).quantize(Decimal(1).scaleb(-prec), rounding=ROUND_HALF_UP)
            body = f"{quantized:,f}" if "," in flags else f"{quantized:f}"
        else:
            body = format(abs(arg), f".{prec}{lower}")
        body = body.upper() if conv.isupper() else body
        return _pad(_signed(body, arg < 0, flags), flags, width)
    raise ExpressionError(f"Conversion = '{conv}'", "java.util.UnknownFormatConversionException")


def java_format(fmt: str, args: Sequence[Any]) -> str:
    """``String.format(fmt, args...)`` for the common conversions (s S d x X o f e g b c n %)."""
    out: list[str] = []
    pos = 0
    ordinary = 0
    last: int | None = None
    for match in _SPEC.finditer(fmt):
        out.append(fmt[pos : match.start()])
        pos = match.end()
        index_spec, flags, width_s, prec_s, conv = match.groups()
        if conv == "%":
            out.append("%")
            continue
        if conv == "n":
            out.append("\n")
            continue
        if index_spec == "<":
            if last is None:
                raise ExpressionError("Format specifier '%<' has no previous argument", ILLEGAL_ARGUMENT)
            index = last
        elif index_spec:
            index = int(index_spec[:-1]) - 1
        else:
            index = ordinary
            ordinary += 1
        if index < 0 or index >= len(args):
            raise ExpressionError(
                f"Format specifier '{match.group(0)}'", "java.util.MissingFormatArgumentException"
            )
        last = index
        width = int(width_s) if width_s else None
        precision = int(prec_s[1:]) if prec_s else None
        out.append(_format_one(conv, flags, width, precision, args[index]))
    tail = fmt[pos:]
    if "%" in tail:
        raise ExpressionError(
            f"Conversion = '{tail[tail.index('%') :][:2]}'", "java.util.UnknownFormatConversionException"
        )
    out.append(tail)
    return "".join(out)
