"""Quartz cron expressions, as Spinnaker users write them, and their next fire times.

``sec min hour day-of-month month day-of-week [year]`` with Quartz's rules: exactly one of the two
day fields is ``?``; ``*``, ranges (``a-b``, wrapping like ``FRI-MON`` or ``22-2``), steps (``a/n``,
``*/n``, ``a-b/n``) and lists; JAN-DEC and SUN-SAT names, day-of-week 1=SUN..7=SAT; day-of-month
``L``, ``L-n``, ``LW`` and ``nW``; day-of-week ``L`` (Saturday), ``nL`` (last n-day of the month)
and ``n#k`` (k-th n-day). ``H`` in the seconds, minutes and hours fields (``H``, ``H/n``,
``H(a-b)``) is a value derived from the trigger id, which spreads many triggers of the same
schedule over the period.

Times are computed on the wall clock of a time zone. A wall time that does not exist (the hour
skipped when daylight-saving time starts) is skipped; one that occurs twice (when it ends) fires
once, at its first occurrence.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

MONTHS = {name: i + 1 for i, name in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
DAYS = {name: i + 1 for i, name in enumerate("SUN MON TUE WED THU FRI SAT".split())}
_FIELDS = ("seconds", "minutes", "hours", "day-of-month", "month", "day-of-week", "year")
_BOUNDS = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2099))
#: How far ahead a next fire time is searched for (Quartz gives up after its maximum year too).
SEARCH_YEARS = 100


class CronError(ValueError):
    """The expression is not valid Quartz syntax; the message says which field and why."""


@dataclass(frozen=True)
class _DaySpec:
    """A day field: ``values``, or one special form (``kind``) with its number(s)."""

    kind: str  # any | set | last | lastWeekday | nearestWeekday | lastOf | nth
    values: frozenset[int] = frozenset()
    n: int = 0
    k: int = 0


def quartz_day_of_week(day: date) -> int:
    """Quartz's day-of-week number of a date: 1 = Sunday ... 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _hash(key: str, span: int) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % span


def _number(text: str, field: int) -> int:
    names = MONTHS if field == 4 else DAYS if field == 5 else {}
    upper = text.upper()
    if upper in names:
        return names[upper]
    if not text.isdigit():
        raise CronError(f"{_FIELDS[field]}: {text!r} is not a number" + (" or a name" if names else ""))
    value = int(text)
    low, high = _BOUNDS[field]
    if not low <= value <= high:
        raise CronError(f"{_FIELDS[field]}: {value} is outside {low}-{high}")
    return value


def _range_values(start: int, end: int, step: int, field: int) -> set[int]:
    low, high = _BOUNDS[field]
    span = high - low + 1
    if step < 1 or step > span:
        raise CronError(f"{_FIELDS[field]}: step {step} must be between 1 and {span}")
    if end < start:  # an overflowing range such as FRI-MON or 22-2
        end += span
    return {low + (v - low) % span for v in range(start, end + 1, step)}


def _item(item: str, field: int, hash_key: str) -> set[int]:
    low, high = _BOUNDS[field]
    base, slash, step_text = item.partition("/")
    if slash and not step_text.isdigit():
        raise CronError(f"{_FIELDS[field]}: step in {item!r} must be a number")
    step = int(step_text) if slash else 1
    if base.upper().startswith("H"):
        if field > 2:
            raise CronError(f"{_FIELDS[field]}: 'H' is allowed only in seconds, minutes and hours")
        lo, hi = low, high
        rest = base[1:]
        if rest:
            if not (rest.startswith("(") and rest.endswith(")") and "-" in rest):
                raise CronError(f"{_FIELDS[field]}: {item!r} is not H, H/n or H(a-b)")
            lo, hi = (_number(p, field) for p in rest[1:-1].split("-", 1))
        if hi < lo:
            raise CronError(f"{_FIELDS[field]}: {item!r} has an empty range")
        first = lo + _hash(f"{hash_key}:{field}", step if slash else hi - lo + 1)
        return _range_values(first, hi, step, field) if slash else {first}
    if base in ("*", ""):
        if base == "" and not slash:
            raise CronError(f"{_FIELDS[field]}: empty value")
        return _range_values(low, high, step, field)
    first_text, dash, last_text = base.partition("-")
    start = _number(first_text, field)
    if dash:
        return _range_values(start, _number(last_text, field), step, field)
    return _range_values(start, high, step, field) if slash else {start}


def _values(text: str, field: int, hash_key: str) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        values |= _item(item.strip(), field, hash_key)
    return frozenset(values)


def _day_of_month(text: str) -> _DaySpec:
    upper = text.upper()
    if upper == "?":
        return _DaySpec("any")
    if upper == "LW":
        return _DaySpec("lastWeekday")
    if upper.startswith("L"):
        offset = upper[1:]
        if offset and not (offset.startswith("-") and offset[1:].isdigit() and int(offset[1:]) <= 30):
            raise CronError(f"day-of-month: {text!r} must be L or L-n with n at most 30")
        return _DaySpec("last", n=int(offset[1:]) if offset else 0)
    if upper.endswith("W"):
        return _DaySpec("nearestWeekday", n=_number(upper[:-1], 3))
    if "L" in upper or "W" in upper:
        raise CronError(f"day-of-month: 'L' and 'W' cannot be combined with other days ({text!r})")
    return _DaySpec("set", _values(text, 3, ""))


def _day_of_week(text: str) -> _DaySpec:
    upper = text.upper()
    if upper == "?":
        return _DaySpec("any")
    if upper == "L":
        return _DaySpec("set", frozenset({7}))
    if "#" in upper:
        day, _, nth = upper.partition("#")
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise CronError(f"day-of-week: the n in {text!r} (day#n) must be 1 to 5")
        return _DaySpec("nth", n=_number(day, 5), k=int(nth))
    if upper.endswith("L"):
        return _DaySpec("lastOf", n=_number(upper[:-1], 5))
    if "L" in upper:
        raise CronError(f"day-of-week: 'L' and '#' cannot be combined with other days ({text!r})")
    return _DaySpec("set", _values(text, 5, ""))


@dataclass(frozen=True)
class CronExpression:
    """A parsed expression; ``next_after`` gives fire times."""

    text: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    day_of_month: _DaySpec
    months: frozenset[int]
    day_of_week: _DaySpec
    years: frozenset[int] | None

    def day_matches(self, day: date) -> bool:
        """Whether the expression fires on some time of ``day``."""
        if day.month not in self.months or (self.years is not None and day.year not in self.years):
            return False
        last = calendar.monthrange(day.year, day.month)[1]
        dom, dow = self.day_of_month, self.day_of_week
        if dom.kind == "set":
            return day.day in dom.values
        if dom.kind == "last":
            return day.day == last - dom.n
        if dom.kind == "lastWeekday":
            target = last
            while date(day.year, day.month, target).weekday() >= 5:
                target -= 1
            return day.day == target
        if dom.kind == "nearestWeekday":
            return dom.n <= last and day.day == _nearest_weekday(day.year, day.month, dom.n, last)
        weekday = quartz_day_of_week(day)
        if dow.kind == "set":
            return weekday in dow.values
        if dow.kind == "lastOf":
            return weekday == dow.n and day.day + 7 > last
        if dow.kind == "nth":
            return weekday == dow.n and (day.day - 1) // 7 + 1 == dow.k
        return True

    def _times(self, start: tuple[int, int, int]) -> Iterator[tuple[int, int, int]]:
        for hour in self.hours:
            if hour < start[0]:
                continue
            for minute in self.minutes:
                if (hour, minute) < start[:2]:
                    continue
                for second in self.seconds:
                    if (hour, minute, second) >= start:
                        yield hour, minute, second

    def next_after(self, after: datetime, zone: ZoneInfo) -> datetime | None:
        """The first fire time strictly after ``after`` (an aware datetime), or None if there is
        none within SEARCH_YEARS."""
        local = after.astimezone(zone).replace(tzinfo=None, microsecond=0) + timedelta(seconds=1)
        limit = local.year + SEARCH_YEARS
        if self.years is not None:
            limit = min(limit, max(self.years))
        day = local.date()
        first = (local.hour, local.minute, local.second)
        while day.year <= limit:
            if day.month not in self.months or (self.years is not None and day.year not in self.years):
                day = _next_month(day)
                first = (0, 0, 0)
                continue
            if self.day_matches(day):
                for hour, minute, second in self._times(first):
                    naive = datetime(day.year, day.month, day.day, hour, minute, second)
                    aware = naive.replace(tzinfo=zone)
                    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
                        continue  # skipped by a daylight-saving jump
                    if aware > after:
                        return aware
            day += timedelta(days=1)
            first = (0, 0, 0)
        return None

    def next_after_ms(self, after_ms: int, zone: ZoneInfo) -> int | None:
        """``next_after`` on epoch milliseconds."""
        found = self.next_after(datetime.fromtimestamp(after_ms / 1000, UTC), zone)
        return None if found is None else int(found.timestamp() * 1000)


def _nearest_weekday(year: int, month: int, n: int, last: int) -> int:
    weekday = date(year, month, n).weekday()
    if weekday == 5:  # Saturday: the Friday before, or Monday after the 1st
        return n - 1 if n > 1 else n + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before the last day
        return n + 1 if n < last else n - 2
    return n


def _next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def parse(text: str, *, hash_key: str = "") -> CronExpression:
    """Parse a Quartz expression; CronError says what is wrong. ``hash_key`` (the trigger id)
    seeds ``H``."""
    if not isinstance(text, str) or not text.strip():
        raise CronError("the cron expression is empty")
    parts = text.split()
    if len(parts) not in (6, 7):
        raise CronError(
            f"expected 6 or 7 fields (sec min hour day-of-month month day-of-week [year]), got {len(parts)}"
        )
    dom_text, dow_text = parts[3], parts[5]
    if (dom_text == "?") == (dow_text == "?"):
        raise CronError(
            "exactly one of day-of-month and day-of-week must be '?' "
            f"(got {dom_text!r} and {dow_text!r}; write e.g. '0 0 3 ? * MON-FRI' or '0 0 3 1 * ?')"
        )
    for index, part in enumerate(parts):
        if "?" in part and (index not in (3, 5) or part != "?"):
            raise CronError(f"{_FIELDS[index]}: '?' is allowed only alone, in the day fields")
    try:
        return CronExpression(
            text=text,
            seconds=tuple(sorted(_values(parts[0], 0, hash_key))),
            minutes=tuple(sorted(_values(parts[1], 1, hash_key))),
            hours=tuple(sorted(_values(parts[2], 2, hash_key))),
            day_of_month=_day_of_month(dom_text),
            months=_values(parts[4], 4, hash_key),
            day_of_week=_day_of_week(dow_text),
            years=_values(parts[6], 6, hash_key) if len(parts) == 7 else None,
        )
    except CronError as exc:
        raise CronError(f"invalid cron expression {text!r}: {exc}") from None
