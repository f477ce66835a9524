"""``java.text.SimpleDateFormat`` (UTC): ``new java.text.SimpleDateFormat('yyyyMMdd').format(date)``."""

from __future__ import annotations

import datetime as dt
import re
from types import MappingProxyType
from typing import Any

from gennaker.expressions.errors import ILLEGAL_ARGUMENT, ExpressionError
from gennaker.expressions.javatime import JDate, JInstant, JLocalDate, JLocalDateTime
from gennaker.expressions.limits import Env
from gennaker.expressions.objects import JavaObject, Method
from gennaker.expressions.values import arity

_MONTHS = ("January February March April May June July August September October November December").split()
_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_LETTERS = "GyYMLwWDdFEuaHkKhmsSzZX"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _tokens(pattern: str) -> list[tuple[str, int]]:
    """Split a pattern into (letter, count) fields and literal text (tagged with a leading NUL)."""
    out: list[tuple[str, int]] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "'":
            end = i + 1
            text = []
            while end < len(pattern):
                if pattern[end] == "'":
                    if end + 1 < len(pattern) and pattern[end + 1] == "'":
                        text.append("'")
                        end += 2
                        continue
                    break
                text.append(pattern[end])
                end += 1
            if end >= len(pattern):
                raise ExpressionError("Unterminated quote", ILLEGAL_ARGUMENT)
            out.append(("\0" + ("".join(text) if end > i + 1 else "'"), 0))
            i = end + 1
        elif c.isascii() and c.isalpha():
            if c not in _LETTERS:
                raise ExpressionError(f"Illegal pattern character '{c}'", ILLEGAL_ARGUMENT)
            j = i
            while j < len(pattern) and pattern[j] == c:
                j += 1
            out.append((c, j - i))
            i = j
        else:
            out.append(("\0" + c, 0))
            i += 1
    return out


def _field(moment: dt.datetime, letter: str, count: int) -> str:
    if letter == "G":
        return "AD"
    if letter in "yY":
        return f"{moment.year % 100:02d}" if count == 2 else f"{moment.year:0{count}d}"
    if letter in "ML":
        if count >= 4:
            return _MONTHS[moment.month - 1]
        if count == 3:
            return _MONTHS[moment.month - 1][:3]
        return f"{moment.month:0{count}d}"
    if letter == "E":
        name = _DAYS[moment.weekday()]
        return name if count >= 4 else name[:3]
    numbers = {
        "d": moment.day,
        "D": moment.timetuple().tm_yday,
        "H": moment.hour,
        "k": moment.hour or 24,
        "K": moment.hour % 12,
        "h": moment.hour % 12 or 12,
        "m": moment.minute,
        "s": moment.second,
        "S": moment.microsecond // 1000,
        "u": moment.isoweekday(),
        "F": (moment.day - 1) // 7 + 1,
        "w": moment.isocalendar()[1],
        "W": (moment.day + moment.replace(day=1).weekday()) // 7 + 1,
    }
    if letter in numbers:
        return f"{numbers[letter]:0{count}d}"
    if letter == "a":
        return "AM" if moment.hour < 12 else "PM"
    if letter == "z":
        return "UTC" if count < 4 else "Coordinated Universal Time"
    if letter == "Z":
        return "+0000"
    return "Z"  # X


class JSimpleDateFormat(JavaObject):
    """A date pattern bound to UTC."""

    java_class = "java.text.SimpleDateFormat"

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.tokens = _tokens(pattern)

    def format(self, value: Any) -> str:
        if isinstance(value, JDate):
            moment = value.moment()
        elif isinstance(value, JInstant):
            moment = value.value
        elif isinstance(value, JLocalDateTime):
            moment = value.value
        elif isinstance(value, JLocalDate):
            moment = dt.datetime.combine(value.date, dt.time())
        elif isinstance(value, int) and not isinstance(value, bool):
            moment = JDate(value).moment()
        else:
            raise ExpressionError("Cannot format given Object as a Date", ILLEGAL_ARGUMENT)
        return "".join(
            token[1:] if token.startswith("\0") else _field(moment, token, count)
            for token, count in self.tokens
        )

    def parse(self, text: Any) -> JDate:
        if not isinstance(text, str):
            raise ExpressionError("parse() needs a String", ILLEGAL_ARGUMENT)
        regex, letters = self._parser()
        match = regex.match(text)
        if match is None:
            raise ExpressionError(f'Unparseable date: "{text}"', "java.text.ParseException")
        parts = {"y": 1970, "M": 1, "d": 1, "H": 0, "m": 0, "s": 0, "S": 0}
        pm = None
        for letter, value in zip(letters, match.groups(), strict=True):
            if letter in "ML" and not value.isdigit():
                parts["M"] = [m[:3].lower() for m in _MONTHS].index(value[:3].lower()) + 1
            elif letter in ("h", "K"):
                parts["H"] = int(value) % 12
            elif letter == "k":
                parts["H"] = int(value) % 24
            elif letter == "a":
                pm = value.upper() == "PM"
            elif letter in "yYdHmsS":
                key = "y" if letter == "Y" else letter
                parts[key] = int(value) + (2000 if key == "y" and len(value) == 2 else 0)
        if pm:
            parts["H"] = parts["H"] % 12 + 12
        try:
            moment = dt.datetime(
                parts["y"], parts["M"], parts["d"], parts["H"], parts["m"], parts["s"],
                parts["S"] * 1000, tzinfo=dt.UTC,
            )  # fmt: skip
        except ValueError as exc:
            raise ExpressionError(f'Unparseable date: "{text}"', "java.text.ParseException") from exc
        delta = moment - _EPOCH
        return JDate((delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000)

    def _parser(self) -> tuple[re.Pattern[str], list[str]]:
        parts: list[str] = []
        letters: list[str] = []
        for token, count in self.tokens:
            if token.startswith("\0"):
                parts.append(re.escape(token[1:]))
                continue
            letters.append(token)
            if token in "ML" and count >= 3 or token == "E":
                parts.append("([A-Za-z]+)")
            elif token == "a":
                parts.append("([AaPp][Mm])")
            elif token in "zZX":
                letters.pop()
                parts.append("(?:UTC|GMT|Z|[+-]\\d{2}:?\\d{2})")
            else:
                parts.append(f"(\\d{{{count},}})" if count > 2 else "(\\d{1,4})")
        return re.compile("".join(parts)), letters

    def java_str(self) -> str:
        return f"java.text.SimpleDateFormat@{hash(self.pattern) & 0xFFFFFFF:x}"


def _method(name: str, count: int, fn: Any) -> Method:
    def method(env: Env, target: Any, args: list[Any]) -> Any:
        arity(name, args, count)
        return fn(target, *args)

    return method


JSimpleDateFormat.methods = MappingProxyType(
    {
        "format": _method("format", 1, lambda f, v: f.format(v)),
        "parse": _method("parse", 1, lambda f, t: f.parse(t)),
        "toPattern": _method("toPattern", 0, lambda f: f.pattern),
        "toString": _method("toString", 0, lambda f: f.java_str()),
    }
)


def new_simple_date_format(env: Env, target: Any, args: list[Any]) -> JSimpleDateFormat:
    """``new java.text.SimpleDateFormat(pattern)``."""
    arity("SimpleDateFormat", args, 1)
    if not isinstance(args[0], str):
        raise ExpressionError("SimpleDateFormat needs a String pattern", ILLEGAL_ARGUMENT)
    return JSimpleDateFormat(args[0])
