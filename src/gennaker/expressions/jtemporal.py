"""The pieces of ``java.time`` the time types share: DayOfWeek, ChronoUnit, TemporalAdjusters,
date arithmetic and the method-table helpers. Time zone is always UTC."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from gennaker.expressions.errors import DATE_TIME, ExpressionError
from gennaker.expressions.limits import Env
from gennaker.expressions.objects import JavaObject, Method
from gennaker.expressions.values import arity, as_int

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
DAY_NAMES = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


def now_ms(env: Env) -> int:
    """The injected clock's time in epoch milliseconds."""
    return env.ctx.clock.now_ms()


def method_of(name: str, count: int, fn: Callable[..., Any]) -> Method:
    """A method of ``count`` arguments: ``fn(receiver, *args)``."""

    def method(env: Env, target: Any, args: list[Any]) -> Any:
        arity(name, args, count)
        return fn(target, *args)

    return method


def _table(entries: dict[str, Method]) -> Mapping[str, Method]:
    return MappingProxyType(entries)


def common_methods(cls_methods: dict[str, Method]) -> Mapping[str, Method]:
    """A class's method table plus toString/equals/compareTo/isBefore/isAfter."""
    cls_methods.setdefault("toString", method_of("toString", 0, lambda o: o.java_str()))
    cls_methods.setdefault(
        "equals", method_of("equals", 1, lambda o, x: type(x) is type(o) and o.sort_key() == x.sort_key())
    )
    cls_methods.setdefault("compareTo", method_of("compareTo", 1, compare_to))
    cls_methods.setdefault("isBefore", method_of("isBefore", 1, lambda o, x: compare_to(o, x) < 0))
    cls_methods.setdefault("isAfter", method_of("isAfter", 1, lambda o, x: compare_to(o, x) > 0))
    return _table(cls_methods)


def compare_to(a: JavaObject, b: Any) -> int:
    """``a.compareTo(b)`` for two values of the same Java-like class."""
    if type(a) is not type(b):
        raise ExpressionError(
            f"cannot compare {a.java_class} with another type", "java.lang.ClassCastException"
        )
    x, y = a.sort_key(), b.sort_key()
    return int(x > y) - int(x < y)


# -- enums -----------------------------------------------------------------------------------


class JDayOfWeek(JavaObject):
    """``java.time.DayOfWeek``."""

    java_class = "java.time.DayOfWeek"

    def __init__(self, value: int) -> None:
        self.value = value  # 1 = MONDAY

    def java_str(self) -> str:
        return DAY_NAMES[self.value - 1]

    def sort_key(self) -> Any:
        return self.value

    def plus(self, days: Any) -> JDayOfWeek:
        return JDayOfWeek((self.value - 1 + as_int(days)) % 7 + 1)


JDayOfWeek.methods = common_methods(
    {
        "getValue": method_of("getValue", 0, lambda d: d.value),
        "name": method_of("name", 0, lambda d: d.java_str()),
        "ordinal": method_of("ordinal", 0, lambda d: d.value - 1),
        "plus": method_of("plus", 1, lambda d, n: d.plus(n)),
        "minus": method_of("minus", 1, lambda d, n: d.plus(-as_int(n))),
    }
)


def day_of_week(value: Any) -> JDayOfWeek:
    """``DayOfWeek.of(n)`` / ``DayOfWeek.valueOf(name)``."""
    if isinstance(value, str) and value in DAY_NAMES:
        return JDayOfWeek(DAY_NAMES.index(value) + 1)
    number = as_int(value)
    if not 1 <= number <= 7:
        raise ExpressionError(f"Invalid value for DayOfWeek: {value}", DATE_TIME)
    return JDayOfWeek(number)


UNITS: Mapping[str, tuple[str, float]] = MappingProxyType(
    {
        "NANOS": ("Nanos", 1e-9),
        "MICROS": ("Micros", 1e-6),
        "MILLIS": ("Millis", 1e-3),
        "SECONDS": ("Seconds", 1.0),
        "MINUTES": ("Minutes", 60.0),
        "HOURS": ("Hours", 3600.0),
        "HALF_DAYS": ("HalfDays", 43200.0),
        "DAYS": ("Days", 86400.0),
        "WEEKS": ("Weeks", 604800.0),
        "MONTHS": ("Months", 0.0),
        "YEARS": ("Years", 0.0),
        "DECADES": ("Decades", 0.0),
        "CENTURIES": ("Centuries", 0.0),
        "MILLENNIA": ("Millennia", 0.0),
    }
)
MONTHS_PER: Mapping[str, int] = MappingProxyType(
    {"MONTHS": 1, "YEARS": 12, "DECADES": 120, "CENTURIES": 1200, "MILLENNIA": 12000}
)


class Temporal(JavaObject):
    """A point in time: ``kind`` is "instant" (Date, Instant), "date" or "datetime" (local)."""

    kind = "instant"

    def as_datetime(self) -> dt.datetime:
        """The point as a naive UTC datetime (dates at midnight)."""
        raise NotImplementedError

    def nanos(self) -> int:
        """Nanoseconds since the epoch (instants only)."""
        raise NotImplementedError


class JChronoUnit(JavaObject):
    """``java.time.temporal.ChronoUnit``."""

    java_class = "java.time.temporal.ChronoUnit"

    def __init__(self, name: str) -> None:
        self.name = name

    def java_str(self) -> str:
        return UNITS[self.name][0]

    def sort_key(self) -> Any:
        return list(UNITS).index(self.name)

    def between(self, start: Any, end: Any) -> int:
        if not isinstance(start, Temporal) or not isinstance(end, Temporal) or start.kind != end.kind:
            raise ExpressionError("ChronoUnit.between() needs two temporals of the same type", DATE_TIME)
        seconds = UNITS[self.name][1]
        if start.kind == "instant":
            if self.name in MONTHS_PER:
                raise ExpressionError(f"Unsupported unit: {self.java_str()}", DATE_TIME)
            return _truncate((end.nanos() - start.nanos()) / (seconds * 1e9))
        if start.kind == "date" and 0 < seconds < 86400:
            raise ExpressionError(f"Unsupported unit: {self.java_str()}", DATE_TIME)
        a, b = start.as_datetime(), end.as_datetime()
        if self.name in MONTHS_PER:
            per = MONTHS_PER[self.name]
            return _months_between(a, b) // per if a <= b else -(_months_between(b, a) // per)
        delta = b - a
        micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
        return _truncate(micros / (seconds * 1e6))


def _truncate(value: float) -> int:
    return int(value)


def _months_between(a: dt.datetime, b: dt.datetime) -> int:
    months = (b.year - a.year) * 12 + b.month - a.month
    if (b.day, b.time()) < (a.day, a.time()):
        months -= 1
    return months


JChronoUnit.methods = common_methods(
    {
        "name": method_of("name", 0, lambda u: u.name),
        "between": method_of("between", 2, lambda u, a, b: u.between(a, b)),
        "isDateBased": method_of(
            "isDateBased", 0, lambda u: UNITS[u.name][1] == 0.0 or u.name in ("DAYS", "WEEKS")
        ),
        "isTimeBased": method_of("isTimeBased", 0, lambda u: 0.0 < UNITS[u.name][1] < 86400),
    }
)

# -- points in time ----------------------------------------------------------------------------


def _add_months(value: dt.date, months: int) -> dt.date:
    total = value.year * 12 + value.month - 1 + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise ExpressionError("Invalid date: year out of range", DATE_TIME)
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def shift(value: dt.datetime, amount: int, unit: str) -> dt.datetime:
    """``value`` plus ``amount`` of a ChronoUnit (months clamp the day, as Java does)."""
    try:
        if unit in MONTHS_PER:
            date = _add_months(value.date(), amount * MONTHS_PER[unit])
            return dt.datetime.combine(date, value.timetz())
        seconds = UNITS[unit][1]
        if unit in ("NANOS", "MICROS"):
            return value + dt.timedelta(microseconds=amount * seconds * 1e6)
        return value + dt.timedelta(seconds=amount * seconds)
    except (OverflowError, ValueError) as exc:
        raise ExpressionError(f"Invalid date: {exc}", DATE_TIME) from exc


def truncated(value: dt.datetime, unit: Any) -> dt.datetime:
    """``truncatedTo(unit)`` for time-based units up to DAYS."""
    if not isinstance(unit, JChronoUnit) or not 0 < UNITS[unit.name][1] <= 86400:
        raise ExpressionError("Unit is too large to be used for truncation", DATE_TIME)
    step = int(UNITS[unit.name][1] * 1_000_000)
    micros = (
        value.hour * 3_600_000_000 + value.minute * 60_000_000 + value.second * 1_000_000 + value.microsecond
    )
    kept = micros - micros % step if step else micros
    base = value.replace(hour=0, minute=0, second=0, microsecond=0)
    return base + dt.timedelta(microseconds=kept)


class JAdjuster(JavaObject):
    """A ``TemporalAdjuster`` from ``TemporalAdjusters``."""

    java_class = "java.time.temporal.TemporalAdjuster"

    def __init__(self, fn: Callable[[dt.date], dt.date]) -> None:
        self.fn = fn


def _next_dow(dow: Any, same: bool, forward: bool) -> JAdjuster:
    target = day_of_week(dow.value if isinstance(dow, JDayOfWeek) else dow).value

    def fn(date: dt.date) -> dt.date:
        diff = (target - date.isoweekday()) % 7 if forward else (date.isoweekday() - target) % 7
        if diff == 0 and not same:
            diff = 7
        return date + dt.timedelta(days=diff if forward else -diff)

    return JAdjuster(fn)


def _in_month(dow: Any, last: bool) -> JAdjuster:
    target = day_of_week(dow.value if isinstance(dow, JDayOfWeek) else dow).value

    def fn(date: dt.date) -> dt.date:
        if last:
            end = date.replace(day=calendar.monthrange(date.year, date.month)[1])
            return end - dt.timedelta(days=(end.isoweekday() - target) % 7)
        start = date.replace(day=1)
        return start + dt.timedelta(days=(target - start.isoweekday()) % 7)

    return JAdjuster(fn)


def _static(name: str, count: int, fn: Callable[..., Any]) -> Method:
    def method(env: Env, target: Any, args: list[Any]) -> Any:
        arity(name, args, count)
        return fn(*args)

    return method


ADJUSTERS: Mapping[str, Method] = _table(
    {
        "firstDayOfMonth": _static("firstDayOfMonth", 0, lambda: JAdjuster(lambda d: d.replace(day=1))),
        "lastDayOfMonth": _static(
            "lastDayOfMonth",
            0,
            lambda: JAdjuster(lambda d: d.replace(day=calendar.monthrange(d.year, d.month)[1])),
        ),
        "firstDayOfNextMonth": _static(
            "firstDayOfNextMonth", 0, lambda: JAdjuster(lambda d: _add_months(d.replace(day=1), 1))
        ),
        "firstDayOfYear": _static(
            "firstDayOfYear", 0, lambda: JAdjuster(lambda d: d.replace(month=1, day=1))
        ),
        "lastDayOfYear": _static(
            "lastDayOfYear", 0, lambda: JAdjuster(lambda d: d.replace(month=12, day=31))
        ),
        "firstDayOfNextYear": _static(
            "firstDayOfNextYear", 0, lambda: JAdjuster(lambda d: dt.date(d.year + 1, 1, 1))
        ),
        "next": _static("next", 1, lambda w: _next_dow(w, False, True)),
        "nextOrSame": _static("nextOrSame", 1, lambda w: _next_dow(w, True, True)),
        "previous": _static("previous", 1, lambda w: _next_dow(w, False, False)),
        "previousOrSame": _static("previousOrSame", 1, lambda w: _next_dow(w, True, False)),
        "firstInMonth": _static("firstInMonth", 1, lambda w: _in_month(w, False)),
        "lastInMonth": _static("lastInMonth", 1, lambda w: _in_month(w, True)),
    }
)


def moment_now(env: Env) -> dt.datetime:
    """The clock's now as an aware UTC datetime."""
    return EPOCH + dt.timedelta(milliseconds=now_ms(env))
