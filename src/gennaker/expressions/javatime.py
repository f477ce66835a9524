"""``java.util.Date`` and ``java.time`` Instant, LocalDate and LocalDateTime, as far as pipelines
use them. Time zone is always UTC; "now" comes from the evaluation's injected clock."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from typing import Any

from gennaker.expressions.errors import DATE_TIME, ExpressionError
from gennaker.expressions.jtemporal import (
    EPOCH,
    MONTHS_PER,
    UNITS,
    UTC,
    JAdjuster,
    JChronoUnit,
    JDayOfWeek,
    Temporal,
    common_methods,
    compare_to,
    method_of,
    shift,
    truncated,
)
from gennaker.expressions.objects import JavaObject, Method
from gennaker.expressions.values import as_int


class JInstant(Temporal):
    """``java.time.Instant`` (microsecond precision)."""

    java_class = "java.time.Instant"

    def as_datetime(self) -> dt.datetime:
        return self.value.replace(tzinfo=None)

    def __init__(self, value: dt.datetime) -> None:
        self.value = value

    @staticmethod
    def of_ms(ms: int) -> JInstant:
        try:
            return JInstant(EPOCH + dt.timedelta(milliseconds=ms))
        except OverflowError as exc:
            raise ExpressionError("Instant exceeds minimum or maximum instant", DATE_TIME) from exc

    def nanos(self) -> int:
        delta = self.value - EPOCH
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
        if not isinstance(unit, JChronoUnit) or unit.name in MONTHS_PER:
            raise ExpressionError("Unsupported unit for Instant", DATE_TIME)
        return JInstant(shift(self.value, as_int(amount), unit.name))


JInstant.methods = common_methods(
    {
        "toEpochMilli": method_of("toEpochMilli", 0, lambda i: i.epoch_ms()),
        "getEpochSecond": method_of("getEpochSecond", 0, lambda i: i.nanos() // 1_000_000_000),
        "getNano": method_of("getNano", 0, lambda i: i.nanos() % 1_000_000_000),
        "plusSeconds": method_of("plusSeconds", 1, lambda i, n: i.shift(n, JChronoUnit("SECONDS"))),
        "plusMillis": method_of("plusMillis", 1, lambda i, n: i.shift(n, JChronoUnit("MILLIS"))),
        "minusSeconds": method_of(
            "minusSeconds", 1, lambda i, n: i.shift(-as_int(n), JChronoUnit("SECONDS"))
        ),
        "minusMillis": method_of("minusMillis", 1, lambda i, n: i.shift(-as_int(n), JChronoUnit("MILLIS"))),
        "plus": method_of("plus", 2, lambda i, n, u: i.shift(n, u)),
        "minus": method_of("minus", 2, lambda i, n, u: i.shift(-as_int(n), u)),
        "truncatedTo": method_of("truncatedTo", 1, lambda i, u: JInstant(truncated(i.value, u))),
    }
)


class JDate(Temporal):
    """``java.util.Date``: milliseconds since the epoch; stored as that number."""

    java_class = "java.util.Date"

    def as_datetime(self) -> dt.datetime:
        return self.moment().replace(tzinfo=None)

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def nanos(self) -> int:
        return self.ms * 1_000_000

    def moment(self) -> dt.datetime:
        try:
            return EPOCH + dt.timedelta(milliseconds=self.ms)
        except OverflowError as exc:
            raise ExpressionError("Date out of range", DATE_TIME) from exc

    def java_str(self) -> str:
        moment = self.moment()
        return moment.strftime("%a %b %d %H:%M:%S UTC ") + str(moment.year)

    def to_json(self) -> Any:
        return self.ms

    def sort_key(self) -> Any:
        return self.ms


JDate.methods = common_methods(
    {
        "getTime": method_of("getTime", 0, lambda d: d.ms),
        "toInstant": method_of("toInstant", 0, lambda d: JInstant.of_ms(d.ms)),
        "before": method_of("before", 1, lambda d, o: compare_to(d, o) < 0),
        "after": method_of("after", 1, lambda d, o: compare_to(d, o) > 0),
        "hashCode": method_of("hashCode", 0, lambda d: ((d.ms ^ (d.ms >> 32)) + 2**31) % 2**32 - 2**31),
    }
)


class JLocalDate(Temporal):
    """``java.time.LocalDate``."""

    java_class = "java.time.LocalDate"
    kind = "date"

    def as_datetime(self) -> dt.datetime:
        return dt.datetime.combine(self.date, dt.time())

    def __init__(self, date: dt.date) -> None:
        self.date = date

    def java_str(self) -> str:
        return self.date.isoformat()

    def sort_key(self) -> Any:
        return self.date

    def shift(self, amount: Any, unit: Any) -> JLocalDate:
        if not isinstance(unit, JChronoUnit) or 0 < UNITS[unit.name][1] < 86400:
            raise ExpressionError("Unsupported unit for LocalDate", DATE_TIME)
        moment = dt.datetime.combine(self.date, dt.time())
        return JLocalDate(shift(moment, as_int(amount), unit.name).date())

    def adjust(self, adjuster: Any) -> JLocalDate:
        if not isinstance(adjuster, JAdjuster):
            raise ExpressionError("with() needs a TemporalAdjuster", DATE_TIME)
        return JLocalDate(adjuster.fn(self.date))


class JLocalDateTime(Temporal):
    """``java.time.LocalDateTime`` (naive, microsecond precision)."""

    java_class = "java.time.LocalDateTime"
    kind = "datetime"

    def as_datetime(self) -> dt.datetime:
        return self.value

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
        return JLocalDateTime(shift(self.value, as_int(amount), unit.name))

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
        "getYear": method_of("getYear", 0, lambda o: _date_of(o).year),
        "getMonthValue": method_of("getMonthValue", 0, lambda o: _date_of(o).month),
        "getDayOfMonth": method_of("getDayOfMonth", 0, lambda o: _date_of(o).day),
        "getDayOfYear": method_of("getDayOfYear", 0, lambda o: _date_of(o).timetuple().tm_yday),
        "getDayOfWeek": method_of("getDayOfWeek", 0, lambda o: JDayOfWeek(_date_of(o).isoweekday())),
        "lengthOfMonth": method_of(
            "lengthOfMonth", 0, lambda o: calendar.monthrange(_date_of(o).year, _date_of(o).month)[1]
        ),
        "isLeapYear": method_of("isLeapYear", 0, lambda o: calendar.isleap(_date_of(o).year)),
        "plus": method_of("plus", 2, lambda o, n, u: o.shift(n, u)),
        "minus": method_of("minus", 2, lambda o, n, u: o.shift(-as_int(n), u)),
        "with": method_of("with", 1, lambda o, a: o.adjust(a)),
        "isEqual": method_of("isEqual", 1, lambda o, x: compare_to(o, x) == 0),
    }
    for unit in ("DAYS", "WEEKS", "MONTHS", "YEARS"):
        title = unit.title()
        methods["plus" + title] = method_of("plus" + title, 1, _shifter(unit, 1))
        methods["minus" + title] = method_of("minus" + title, 1, _shifter(unit, -1))
    return methods


_local_date = _dated_methods()
_local_date["toEpochDay"] = method_of("toEpochDay", 0, lambda o: (o.date - dt.date(1970, 1, 1)).days)
_local_date["atStartOfDay"] = method_of(
    "atStartOfDay", 0, lambda o: JLocalDateTime(dt.datetime.combine(o.date, dt.time()))
)
JLocalDate.methods = common_methods(_local_date)

_local_date_time = _dated_methods()
for _unit in ("SECONDS", "MINUTES", "HOURS"):
    _title = _unit.title()
    _local_date_time["plus" + _title] = method_of("plus" + _title, 1, _shifter(_unit, 1))
    _local_date_time["minus" + _title] = method_of("minus" + _title, 1, _shifter(_unit, -1))
_local_date_time.update(
    {
        "getHour": method_of("getHour", 0, lambda o: o.value.hour),
        "getMinute": method_of("getMinute", 0, lambda o: o.value.minute),
        "getSecond": method_of("getSecond", 0, lambda o: o.value.second),
        "toLocalDate": method_of("toLocalDate", 0, lambda o: JLocalDate(o.value.date())),
        "truncatedTo": method_of("truncatedTo", 1, lambda o, u: JLocalDateTime(truncated(o.value, u))),
    }
)
JLocalDateTime.methods = common_methods(_local_date_time)


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
