"""Quartz cron parsing and next fire times: the special characters against dates worked out by
hand, time zones across daylight-saving changes, errors, and a property check against a
brute-force minute-by-minute scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gennaker.triggers.cron_expr import CronError, parse, quartz_day_of_week

UTC_ZONE = ZoneInfo("UTC")
LA = ZoneInfo("America/Los_Angeles")
JAN_1_2024 = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday


def fires(
    expression: str, after: datetime = JAN_1_2024, count: int = 3, zone: ZoneInfo = UTC_ZONE
) -> list[str]:
    compiled = parse(expression, hash_key="trigger-1")
    out = []
    current = after
    for _ in range(count):
        found = compiled.next_after(current, zone)
        assert found is not None
        out.append(found.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %a"))
        current = found
    return out


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (
            "0 0 3 ? * MON-FRI",
            ["2024-01-01 03:00:00 Mon", "2024-01-02 03:00:00 Tue", "2024-01-03 03:00:00 Wed"],
        ),
        ("0 0 3 ? * 2-6", ["2024-01-01 03:00:00 Mon", "2024-01-02 03:00:00 Tue", "2024-01-03 03:00:00 Wed"]),
        ("0 0/20 * * * ?", ["2024-01-01 00:20:00 Mon", "2024-01-01 00:40:00 Mon", "2024-01-01 01:00:00 Mon"]),
        ("*/30 * * * * ?", ["2024-01-01 00:00:30 Mon", "2024-01-01 00:01:00 Mon", "2024-01-01 00:01:30 Mon"]),
        ("0 15 10 ? * 6L", ["2024-01-26 10:15:00 Fri", "2024-02-23 10:15:00 Fri", "2024-03-29 10:15:00 Fri"]),
        (
            "0 15 10 ? * 6#3",
            ["2024-01-19 10:15:00 Fri", "2024-02-16 10:15:00 Fri", "2024-03-15 10:15:00 Fri"],
        ),
        ("0 0 12 L * ?", ["2024-01-31 12:00:00 Wed", "2024-02-29 12:00:00 Thu", "2024-03-31 12:00:00 Sun"]),
        ("0 0 12 L-2 * ?", ["2024-01-29 12:00:00 Mon", "2024-02-27 12:00:00 Tue", "2024-03-29 12:00:00 Fri"]),
        ("0 0 12 LW * ?", ["2024-01-31 12:00:00 Wed", "2024-02-29 12:00:00 Thu", "2024-03-29 12:00:00 Fri"]),
        # 15W: Jun 15 2024 is a Saturday -> Friday 14th; Sep 15 a Sunday -> Monday 16th.
        (
            "0 0 12 15W JUN,SEP ?",
            ["2024-06-14 12:00:00 Fri", "2024-09-16 12:00:00 Mon", "2025-06-16 12:00:00 Mon"],
        ),
        # 1W on a Saturday does not leave the month: Monday the 3rd (June 2024 starts on a Saturday).
        (
            "0 0 12 1W JUN ?",
            ["2024-06-03 12:00:00 Mon", "2025-06-02 12:00:00 Mon", "2026-06-01 12:00:00 Mon"],
        ),
        ("0 0 0 29 FEB ?", ["2024-02-29 00:00:00 Thu", "2028-02-29 00:00:00 Tue", "2032-02-29 00:00:00 Sun"]),
        (
            "0 0 22-2/2 ? * SUN",
            ["2024-01-07 00:00:00 Sun", "2024-01-07 02:00:00 Sun", "2024-01-07 22:00:00 Sun"],
        ),
        (
            "0 0 9 ? * FRI-MON",
            ["2024-01-01 09:00:00 Mon", "2024-01-05 09:00:00 Fri", "2024-01-06 09:00:00 Sat"],
        ),
        (
            "0 30 8 1,15 jan-mar ?",
            ["2024-01-01 08:30:00 Mon", "2024-01-15 08:30:00 Mon", "2024-02-01 08:30:00 Thu"],
        ),
        (
            "0 0 0 1 1 ? 2025/2",
            ["2025-01-01 00:00:00 Wed", "2027-01-01 00:00:00 Fri", "2029-01-01 00:00:00 Mon"],
        ),
        ("0 0 12 ? * L", ["2024-01-06 12:00:00 Sat", "2024-01-13 12:00:00 Sat", "2024-01-20 12:00:00 Sat"]),
    ],
)
def test_next_fire_times(expression: str, expected: list[str]) -> None:
    assert fires(expression) == expected


def test_hashed_values_are_stable_per_trigger_and_spread_across_triggers() -> None:
    one = parse("H H 3 * * ?", hash_key="a")
    assert one == parse("H H 3 * * ?", hash_key="a")
    starts = {parse("H H(0-29) 3 * * ?", hash_key=str(i)).minutes for i in range(20)}
    assert len(starts) > 3 and all(0 <= m[0] <= 29 for m in starts)
    stepped = parse("0 H/15 * * * ?", hash_key="x").minutes
    assert (
        len(stepped) == 4
        and stepped[0] < 15
        and all(b - a == 15 for a, b in zip(stepped, stepped[1:], strict=False))
    )


def test_daylight_saving_time_in_los_angeles() -> None:
    # 2:30 does not exist on 2024-03-10 (clocks jump 2:00 -> 3:00): that day is skipped.
    assert fires("0 30 2 * * ?", datetime(2024, 3, 9, 12, tzinfo=LA), 2, LA) == [
        "2024-03-11 02:30:00 Mon",
        "2024-03-12 02:30:00 Tue",
    ]
    # 1:30 happens twice on 2024-11-03: it fires once, at the first (daylight time) occurrence.
    first = parse("0 30 1 * * ?").next_after(datetime(2024, 11, 3, 0, tzinfo=LA), LA)
    assert first is not None and first.astimezone(UTC) == datetime(2024, 11, 3, 8, 30, tzinfo=UTC)
    following = parse("0 30 1 * * ?").next_after(first, LA)
    assert following is not None and following.astimezone(UTC) == datetime(2024, 11, 4, 9, 30, tzinfo=UTC)
    # A daily 9:00 stays at 9:00 local across the change: the UTC hour moves.
    utc_hours = {
        d.astimezone(UTC).hour
        for d in (parse("0 0 9 * * ?").next_after(datetime(2024, 3, day, tzinfo=LA), LA) for day in (8, 12))
        if d is not None
    }
    assert utc_hours == {17, 16}


def test_expression_that_never_fires_has_no_next_time() -> None:
    assert parse("0 0 0 30 FEB ?").next_after(JAN_1_2024, UTC_ZONE) is None
    assert parse("0 0 0 1 1 ? 2001").next_after(JAN_1_2024, UTC_ZONE) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "empty"),
        ("0 0 * * *", "6 or 7 fields"),
        ("* * * * * *", "exactly one of day-of-month and day-of-week"),
        ("0 0 0 ? * ?", "exactly one of day-of-month and day-of-week"),
        ("0 60 * * * ?", "minutes: 60 is outside 0-59"),
        ("0 0 24 * * ?", "hours: 24 is outside 0-23"),
        ("0 0 0 32 * ?", "day-of-month: 32 is outside 1-31"),
        ("0 0 0 ? * 8", "day-of-week: 8 is outside 1-7"),
        ("0 0 0 ? FOO *", "month: 'FOO' is not a number or a name"),
        ("0 0 0 ? * MON#6", "must be 1 to 5"),
        ("0 0/0 * * * ?", "step 0"),
        ("0 0 0 ? * 2L,3", "cannot be combined"),
        ("0 0 0 L,5 * ?", "L or L-n"),
        ("0 ? 0 1 * ?", "'?' is allowed only"),
        ("0 0 0 H * ?", "'H' is allowed only"),
        ("0 0 0 1 1 ? 1969", "year: 1969 is outside"),
    ],
)
def test_errors_say_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        parse(expression)


# -- property: agree with a brute-force scan -----------------------------------------------------

_minute = st.one_of(
    st.just("*"),
    st.integers(0, 59).map(str),
    st.tuples(st.integers(0, 59), st.integers(1, 30)).map(lambda t: f"{t[0]}/{t[1]}"),
    st.lists(st.integers(0, 59), min_size=1, max_size=4).map(lambda v: ",".join(map(str, v))),
)
_hour = st.one_of(
    st.just("*"),
    st.integers(0, 23).map(str),
    st.tuples(st.integers(0, 23), st.integers(0, 23)).map(lambda t: f"{t[0]}-{t[1]}"),
    st.tuples(st.integers(0, 23), st.integers(1, 12)).map(lambda t: f"{t[0]}/{t[1]}"),
)
_days = st.one_of(
    st.tuples(st.just("?"), st.one_of(st.just("*"), st.integers(1, 7).map(str), st.just("MON-FRI"))),
    st.tuples(st.one_of(st.just("*"), st.integers(1, 28).map(str), st.just("1,15")), st.just("?")),
)
_month = st.one_of(st.just("*"), st.integers(1, 12).map(str), st.just("JAN,APR,JUL,OCT"))


def _expand(field: str, low: int, high: int) -> set[int]:
    names = {"MON-FRI": set(range(2, 7)), "JAN,APR,JUL,OCT": {1, 4, 7, 10}}
    if field in names:
        return names[field]
    out: set[int] = set()
    for part in field.split(","):
        if part == "*":
            out |= set(range(low, high + 1))
        elif "/" in part:
            start, step = map(int, part.split("/"))
            out |= set(range(start, high + 1, step))
        elif "-" in part:
            a, b = map(int, part.split("-"))
            out |= set(range(a, b + 1)) if a <= b else set(range(a, high + 1)) | set(range(low, b + 1))
        else:
            out.add(int(part))
    return out


@settings(max_examples=60, deadline=None)
@given(_minute, _hour, _days, _month, st.integers(0, 400 * 24 * 60))
def test_agrees_with_brute_force_minute_scan(
    minute: str, hour: str, days: tuple[str, str], month: str, offset: int
) -> None:
    dom, dow = days
    expression = f"0 {minute} {hour} {dom} {month} {dow}"
    start = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(minutes=offset)
    minutes, hours, months = _expand(minute, 0, 59), _expand(hour, 0, 23), _expand(month, 1, 12)
    doms = _expand(dom, 1, 31) if dom != "?" else None
    dows = _expand(dow, 1, 7) if dow != "?" else None
    expected = None
    current = start.replace(second=0) + timedelta(minutes=1)
    limit = start + timedelta(days=70)
    while current <= limit:  # minute by minute, jumping whole days and hours that cannot match
        day_ok = current.month in months and (
            (doms is not None and current.day in doms)
            or (dows is not None and quartz_day_of_week(current) in dows)
        )
        if not day_ok:
            current = (current + timedelta(days=1)).replace(hour=0, minute=0)
            continue
        if current.hour not in hours:
            current = (current + timedelta(hours=1)).replace(minute=0)
            continue
        if current.minute in minutes:
            expected = current
            break
        current += timedelta(minutes=1)
    found = parse(expression).next_after(start, UTC_ZONE)
    if expected is not None:
        assert found == expected, expression
    else:
        assert found is None or found > limit, expression
