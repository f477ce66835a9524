"""``java.util.Date``, ``java.time`` (Instant, LocalDate, LocalDateTime, DayOfWeek, ChronoUnit) and
``TemporalAdjusters``, as far as pipelines use them. Time zone is always UTC; "now" comes from the
evaluation's injected clock."""

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
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_DAY_NAMES = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


def now_ms(env: Env) -> int:
    """The injected clock's time in epoch milliseconds."""
    return env.ctx.clock.now_ms()


def _m(name: str, count: int, fn: Callable[..., Any]) -> Method:
    """A method of ``count`` arguments: ``fn(receiver, *args)``."""

    def method(env: Env, target: Any, args: list[Any]) -> Any:
        arity(name, args, count)
        return fn(target, *args)

    return method


def _table(entries: dict[str, Method]) -> Mapping[str, Method]:
    return MappingProxyType(entries)


def _common(cls_methods: dict[str, Method]) -> Mapping[str, Method]:
    cls_methods.setdefault("toString", _m("toString", 0, lambda o: o.java_str()))
    cls_methods.setdefault(
        "equals", _m("equals", 1, lambda o, x: type(x) is type(o) and o.sort_key() == x.sort_key())
    )
    cls_methods.setdefault("compareTo", _m("compareTo", 1, _compare_to))
    cls_methods.setdefault("isBefore", _m("isBefore", 1, lambda o, x: _compare_to(o, x) < 0))
    cls_methods.setdefault("isAfter", _m("isAfter", 1, lambda o, x: _compare_to(o, x) > 0))
    return _table(cls_methods)


def _compare_to(a: JavaObject, b: Any) -> int:
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
        return _DAY_NAMES[self.value - 1]

    def sort_key(self) -> Any:
        return self.value

    def plus(self, days: Any) -> JDayOfWeek:
        return JDayOfWeek((self.value - 1 + as_int(days)) % 7 + 1)


JDayOfWeek.methods = _common(
    {
        "getValue": _m("getValue", 0, lambda d: d.value),
        "name": _m("name", 0, lambda d: d.java_str()),
        "ordinal": _m("ordinal", 0, lambda d: d.value - 1),
        "plus": _m("plus", 1, lambda d, n: d.plus(n)),
        "minus": _m("minus", 1, lambda d, n: d.plus(-as_int(n))),
    }
)


def day_of_week(value: Any) -> JDayOfWeek:
    """``DayOfWeek.of(n)`` / ``DayOfWeek.valueOf(name)``."""
    if isinstance(value, str) and value in _DAY_NAMES:
        return JDayOfWeek(_DAY_NAMES.index(value) + 1)
    number = as_int(value)
    if not 1 <= number <= 7:
        raise ExpressionError(f"Invalid value for DayOfWeek: {value}", DATE_TIME)
    return JDayOfWeek(number)


_UNITS = {
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
_MONTHS_PER = {"MONTHS": 1, "YEARS": 12, "DECADES": 120, "CENTURIES": 1200, "MILLENNIA": 12000}


class JChronoUnit(JavaObject):
    """``java.time.temporal.ChronoUnit``."""

    java_class = "java.time.temporal.ChronoUnit"

    def __init__(self, name: str) -> None:
        self.name = name

    def java_str(self) -> str:
        return _UNITS[self.name][0]

    def sort_key(self) -> Any:
        return list(_UNITS).index(self.name)

    def between(self, start: Any, end: Any) -> int:
        if isinstance(start, JLocalDate) and isinstance(end, JLocalDate):
            a = dt.datetime.combine(start.date, dt.time(), UTC)
            b = dt.datetime.combine(end.date, dt.time(), UTC)
            if _UNITS[self.name][1] and _UNITS[self.name][1] < 86400:
                raise ExpressionError(f"Unsupported unit: {self.java_str()}", DATE_TIME)
        elif isinstance(start, JLocalDateTime) and isinstance(end, JLocalDateTime):
            a, b = start.value.replace(tzinfo=UTC), end.value.replace(tzinfo=UTC)
        elif isinstance(start, (JInstant, JDate)) and isinstance(end, (JInstant, JDate)):
            if self.name in _MONTHS_PER:
                raise ExpressionError(f"Unsupported unit: {self.java_str()}", DATE_TIME)
            return _truncate((end.nanos() - start.nanos()) / (_UNITS[self.name][1] * 1e9))
        else:
            raise ExpressionError("ChronoUnit.between() needs two temporals of the same type", DATE_TIME)
        if self.name in _MONTHS_PER:
            return (
                _months_between(a, b) // _MONTHS_PER[self.name]
                if a <= b
                else -(_months_between(b, a) // _MONTHS_PER[self.name])
            )
        delta = b - a
        micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
        return _truncate(micros / (_UNITS[self.name][1] * 1e6))


def _truncate(value: float) -> int:
    return int(value)


def _months_between(a: dt.datetime, b: dt.datetime) -> int:
    months = (b.year - a.year) * 12 + b.month - a.month
    if (b.day, b.time()) < (a.day, a.time()):
        months -= 1
    return months


JChronoUnit.methods = _common(
    {
        "name": _m("name", 0, lambda u: u.name),
        "between": _m("between", 2, lambda u, a, b: u.between(a, b)),
        "isDateBased": _m(
            "isDateBased", 0, lambda u: _UNITS[u.name][1] == 0.0 or u.name in ("DAYS", "WEEKS")
        ),
        "isTimeBased": _m("isTimeBased", 0, lambda u: 0.0 < _UNITS[u.name][1] < 86400),
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


def _shift(value: dt.datetime, amount: int, unit: str) -> dt.datetime:
    try:
        if unit in _MONTHS_PER:
            date = _add_months(value.date(), amount * _MONTHS_PER[unit])
            return dt.datetime.combine(date, value.timetz())
        seconds = _UNITS[unit][1]
        if unit in ("NANOS", "MICROS"):
            return value + dt.timedelta(microseconds=amount * seconds * 1e6)
        return value + dt.timedelta(seconds=amount * seconds)
    except (OverflowError, ValueError) as exc:
        raise ExpressionError(f"Invalid date: {exc}", DATE_TIME) from exc


class JInstant(JavaObject):
    """``java.time.Instant`` (microsecond precision)."""

    java_class = "java.time.Instant"

    def __init__(self, value: dt.datetime) -> None:
        self.value = value

    @staticmethod
    def of_ms(ms: int) -> JInstant:
        try:
            return JInstant(_EPOCH + dt.timedelta(milliseconds=ms))
        except OverflowError as exc:
            raise ExpressionError("Instant exceeds minimum or maximum instant", DATE_TIME) from exc

    def nanos(self) -> int:
        delta = self.value - _EPOCH
        return ((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds) * 1000

    def epoch_ms(self) -> int:
        return self.nanos() // 1_000_000

    def java_str(self) -> str:
        base = self.value.strftime("%Y-%m-%dT%H:%M:%S")
        micros = self.value.microsecond
        if micros:
            frac = f"{micros:06d}"
            base += "." + (frac[:3] if frac.endswith("000") else frac)
        return base + "Z"

    def sort_key(self) -> Any:
        return self.value

    def shift(self, amount: Any, unit: Any) -> JInstant:
        if not isinstance(unit, JChronoUnit) or unit.name in _MONTHS_PER:
            raise ExpressionError("Unsupported unit for Instant", DATE_TIME)
        return JInstant(_shift(self.value, as_int(amount), unit.name))


JInstant.methods = _common(
    {
        "toEpochMilli": _m("toEpochMilli", 0, lambda i: i.epoch_ms()),
        "getEpochSecond": _m("getEpochSecond", 0, lambda i: i.nanos() // 1_000_000_000),
        "getNano": _m("getNano", 0, lambda i: i.nanos() % 1_000_000_000),
        "plusSeconds": _m("plusSeconds", 1, lambda i, n: i.shift(n, JChronoUnit("SECONDS"))),
        "plusMillis": _m("plusMillis", 1, lambda i, n: i.shift(n, JChronoUnit("MILLIS"))),
        "minusSeconds": _m("minusSeconds", 1, lambda i, n: i.shift(-as_int(n), JChronoUnit("SECONDS"))),
        "minusMillis": _m("minusMillis", 1, lambda i, n: i.shift(-as_int(n), JChronoUnit("MILLIS"))),
        "plus": _m("plus", 2, lambda i, n, u: i.shift(n, u)),
        "minus": _m("minus", 2, lambda i, n, u: i.shift(-as_int(n), u)),
        "truncatedTo": _m("truncatedTo", 1, lambda i, u: JInstant(_truncated(i.value, u))),
    }
)


def _truncated(value: dt.datetime, unit: Any) -> dt.datetime:
    if not isinstance(unit, JChronoUnit) or not 0 < _UNITS[unit.name][1] <= 86400:
        raise ExpressionError("Unit is too large to be used for truncation", DATE_TIME)
    step = int(_UNITS[unit.name][1] * 1_000_000)
    micros = (
        value.hour * 3_600_000_000 + value.minute * 60_000_000 + value.second * 1_000_000 + value.microsecond
    )
    kept = micros - micros % step if step else micros
    base = value.replace(hour=0, minute=0, second=0, microsecond=0)
    return base + dt.timedelta(microseconds=kept)


class JDate(JavaObject):
    """``java.util.Date``: milliseconds since the epoch; stored as that number."""

    java_class = "java.util.Date"

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def nanos(self) -> int:
        return self.ms * 1_000_000

    def moment(self) -> dt.datetime:
        try:
            return _EPOCH + dt.timedelta(milliseconds=self.ms)
        except OverflowError as exc:
            raise ExpressionError("Date out of range", DATE_TIME) from exc

    def java_str(self) -> str:
        moment = self.moment()
        return moment.strftime("%a %b %d %H:%M:%S UTC ") + str(moment.year)

    def to_json(self) -> Any:
        return self.ms

    def sort_key(self) -> Any:
        return self.ms


JDate.methods = _common(
    {
        "getTime": _m("getTime", 0, lambda d: d.ms),
        "toInstant": _m("toInstant", 0, lambda d: JInstant.of_ms(d.ms)),
        "before": _m("before", 1, lambda d, o: _compare_to(d, o) < 0),
        "after": _m("after", 1, lambda d, o: _compare_to(d, o) > 0),
        "hashCode": _m("hashCode", 0, lambda d: ((d.ms ^ (d.ms >> 32)) + 2**31) % 2**32 - 2**31),
    }
)


class JLocalDate(JavaObject):
    """``java.time.LocalDate``."""

    java_class = "java.time.LocalDate"

    def __init__(self, date: dt.date) -> None:
        self.date = date

    def java_str(self) -> str:
        return self.date.isoformat()

    def sort_key(self) -> Any:
        return self.date

    def shift(self, amount: Any, unit: Any) -> JLocalDate:
        if not isinstance(unit, JChronoUnit) or 0 < _UNITS[unit.name][1] < 86400:
            raise ExpressionError("Unsupported unit for LocalDate", DATE_TIME)
        moment = dt.datetime.combine(self.date, dt.time())
        return JLocalDate(_shift(moment, as_int(amount), unit.name).date())

    def adjust(self, adjuster: Any) -> JLocalDate:
        if not isinstance(adjuster, JAdjuster):
            raise ExpressionError("with() needs a TemporalAdjuster", DATE_TIME)
        return JLocalDate(adjuster.fn(self.date))


class JLocalDateTime(JavaObject):
    """``java.time.LocalDateTime`` (naive, microsecond precision)."""

    java_class = "java.time.LocalDateTime"

    def __init__(self, value: dt.datetime) -> None:
        self.value = value

    def java_str(self) -> str:
        text = self.value.strftime("%Y-%m-%dT%H:%M")
        if self.value.second or self.value.microsecond:
            text += f":{self.value.second:02d}"
        if self.value.microsecond:
            frac = f"{self.value.microsecond:06d}"
            text += "." + (frac[:3] if frac.endswith("000") else frac)
        return text

    def sort_key(self) -> Any:
        return self.value

    def shift(self, amount: Any, unit: Any) -> JLocalDateTime:
        if not isinstance(unit, JChronoUnit):
            raise ExpressionError("Unsupported unit for LocalDateTime", DATE_TIME)
        return JLocalDateTime(_shift(self.value, as_int(amount), unit.name))

    def adjust(self, adjuster: Any) -> JLocalDateTime:
        if not isinstance(adjuster, JAdjuster):
            raise ExpressionError("with() needs a TemporalAdjuster", DATE_TIME)
        return JLocalDateTime(dt.datetime.combine(adjuster.fn(self.value.date()), self.value.time()))


def _date_of(o: Any) -> dt.date:
    return o.date if isinstance(o, JLocalDate) else o.value.date()


def _shifter(unit: str, sign: int) -> Callable[[Any, Any], Any]:
    return lambda o, n: o.shift(sign * as_int(n), JChronoUnit(unit))


def _dated_methods() -> dict[str, Method]:
    methods: dict[str, Method] = {
        "getYear": _m("getYear", 0, lambda o: _date_of(o).year),
        "getMonthValue": _m("getMonthValue", 0, lambda o: _date_of(o).month),
        "getDayOfMonth": _m("getDayOfMonth", 0, lambda o: _date_of(o).day),
        "getDayOfYear": _m("getDayOfYear", 0, lambda o: _date_of(o).timetuple().tm_yday),
        "getDayOfWeek": _m("getDayOfWeek", 0, lambda o: JDayOfWeek(_date_of(o).isoweekday())),
        "lengthOfMonth": _m(
            "lengthOfMonth", 0, lambda o: calendar.monthrange(_date_of(o).year, _date_of(o).month)[1]
        ),
        "isLeapYear": _m("isLeapYear", 0, lambda o: calendar.isleap(_date_of(o).year)),
        "plus": _m("plus", 2, lambda o, n, u: o.shift(n, u)),
        "minus": _m("minus", 2, lambda o, n, u: o.shift(-as_int(n), u)),
        "with": _m("with", 1, lambda o, a: o.adjust(a)),
        "isEqual": _m("isEqual", 1, lambda o, x: _compare_to(o, x) == 0),
    }
    for unit in ("DAYS", "WEEKS", "MONTHS", "YEARS"):
        title = unit.title()
        methods["plus" + title] = _m("plus" + title, 1, _shifter(unit, 1))
        methods["minus" + title] = _m("minus" + title, 1, _shifter(unit, -1))
    return methods


_local_date = _dated_methods()
_local_date["toEpochDay"] = _m("toEpochDay", 0, lambda o: (o.date - dt.date(1970, 1, 1)).days)
_local_date["atStartOfDay"] = _m(
    "atStartOfDay", 0, lambda o: JLocalDateTime(dt.datetime.combine(o.date, dt.time()))
)
JLocalDate.methods = _common(_local_date)

_local_date_time = _dated_methods()
for _unit in ("SECONDS", "MINUTES", "HOURS"):
    _title = _unit.title()
    _local_date_time["plus" + _title] = _m("plus" + _title, 1, _shifter(_unit, 1))
    _local_date_time["minus" + _title] = _m("minus" + _title, 1, _shifter(_unit, -1))
_local_date_time.update(
    {
        "getHour": _m("getHour", 0, lambda o: o.value.hour),
        "getMinute": _m("getMinute", 0, lambda o: o.value.minute),
        "getSecond": _m("getSecond", 0, lambda o: o.value.second),
        "toLocalDate": _m("toLocalDate", 0, lambda o: JLocalDate(o.value.date())),
        "truncatedTo": _m("truncatedTo", 1, lambda o, u: JLocalDateTime(_truncated(o.value, u))),
    }
)
JLocalDateTime.methods = _common(_local_date_time)


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


def parse_iso(kind: str, text: Any) -> JavaObject:
    """``Instant.parse`` / ``LocalDate.parse`` / ``LocalDateTime.parse`` (ISO-8601)."""
    if not isinstance(text, str):
        raise ExpressionError(f"{kind}.parse() needs a String", DATE_TIME)
    try:
        if kind == "LocalDate":
            return JLocalDate(dt.date.fromisoformat(text))
        if kind == "LocalDateTime":
            if "T" not in text:
                raise ValueError(text)
            return JLocalDateTime(dt.datetime.fromisoformat(text))
        if not text.endswith("Z"):
            raise ValueError(text)
        return JInstant(dt.datetime.fromisoformat(text[:-1] + "+00:00").astimezone(UTC))
    except ValueError as exc:
        raise ExpressionError(
            f"Text '{text}' could not be parsed", "java.time.format.DateTimeParseException"
        ) from exc


def moment_now(env: Env) -> dt.datetime:
    """The clock's now as an aware UTC datetime."""
    return _EPOCH + dt.timedelta(milliseconds=now_ms(env))
