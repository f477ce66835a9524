"""Conformance: Java methods on strings, lists, maps and numbers, and the allowed ``T(...)`` and
``new`` types, with Java's results (the frozen clock reads 2023-11-14T22:13:20Z, a Tuesday)."""

from __future__ import annotations

from typing import Any

import pytest

from gennaker.expressions import evaluate
from tests.expressions.cases import same
from tests.expressions.conftest import NOW_MS, ev

STRINGS: list[tuple[str, Any]] = [
    ("${text.length()}", 12),
    ("${text.substring(7)}", "World"),
    ("${text.substring(0, 5)}", "Hello"),
    ("${text.indexOf('o')}", 4),
    ("${text.indexOf('o', 5)}", 8),
    ("${text.lastIndexOf('o')}", 8),
    ("${text.lastIndexOf('o', 7)}", 4),
    ("${text.indexOf('z')}", -1),
    ("${text.contains('World')}", True),
    ("${text.startsWith('Hell')}", True),
    ("${text.startsWith('World', 7)}", True),
    ("${text.endsWith('!')}", False),
    ("${text.toLowerCase()}", "hello, world"),
    ("${text.toUpperCase()}", "HELLO, WORLD"),
    ("${'  padded  '.trim()}", "padded"),
    ("${text.replace('l', 'L')}", "HeLLo, WorLd"),
    ("${replaceTest.replaceAll('-', '')}", "stackwithhyphens"),
    ('${ replaceTest.replaceAll("-","") }', "stackwithhyphens"),
    ("${'jeyrs!'.replaceAll('\\W', '')}", "jeyrs"),
    ("${'a1b22c333'.replaceAll('[0-9]+', '#')}", "a#b#c#"),
    ("${'2023-11-14'.replaceAll('(\\d+)-(\\d+)-(\\d+)', '$3/$2/$1')}", "14/11/2023"),
    ("${'cost: 5'.replaceAll('\\d', '\\$')}", "cost: $"),
    ("${'aaa'.replaceFirst('a', 'b')}", "baa"),
    ("${'Hello'.replaceAll('(?<first>H)', '${first}${first}')}", "HHello"),
    ("${parameters.regions.split(',')}", ["us-east-1", "us-west-2", "eu-west-1"]),
    ("${parameters.regions.split(',')[1]}", "us-west-2"),
    ("${parameters.regions.split(',').length}", 3),
    ("${csv.split(',')}", ["a", "b", "", "c"]),
    ("${csv.split(',', -1)}", ["a", "b", "", "c", "", ""]),
    ("${csv.split(',', 2)}", ["a", "b,,c,,"]),
    ("${'a1b2c3'.split('\\d')}", ["a", "b", "c"]),
    ("${'abc'.split('')}", ["a", "b", "c"]),
    ("${'a.b.c'.split('\\.')}", ["a", "b", "c"]),
    ("${'a.b.c'.split('.')}", []),
    ("${''.split(',')}", [""]),
    ("${'a  b   c'.split('\\s+')}", ["a", "b", "c"]),
    ("${text.equals('Hello, World')}", True),
    ("${text.equals(1)}", False),
    ("${text.equalsIgnoreCase('hello, world')}", True),
    ("${emptyString.isEmpty()}", True),
    ("${text.isEmpty()}", False),
    ("${text.empty}", False),
    ("${text.charAt(4)}", "o"),
    ("${text.matches('H.*d')}", True),
    ("${text.matches('World')}", False),
    ("${'foo'.concat('bar')}", "foobar"),
    ("${'hello'.hashCode()}", 99162322),
    ("${'Hello, World'.hashCode()}", -505841268),
    ("${text.toString()}", "Hello, World"),
    ("${'abc'.compareTo('abd')}", -1),
    ("${'b'.compareTo('a')}", 1),
    ("${'ABC'.compareToIgnoreCase('abc')}", 0),
    ("${'ab'.repeat(3)}", "ababab"),
    ("${'  x '.strip()}", "x"),
    ("${'   '.isBlank()}", True),
    ("${withUpperCase.toLowerCase()}", "baconbacon"),
    ("${version.substring(1).split('\\.')[0]}", "1"),
    ("${text.length() > 5}", True),
    ("${text.substring(text.indexOf(',') + 2)}", "World"),
    ("${'a-b'.replace('-', '')}", "ab"),
    ("${account.toUpperCase() + '-' + region.replaceAll('-', '')}", "PROD-useast1"),
]

LISTS_MAPS: list[tuple[str, Any]] = [
    ("${list.size()}", 5),
    ("${list.isEmpty()}", False),
    ("${list.contains(3)}", True),
    ("${list.contains('3')}", False),
    ("${words.contains('banana')}", True),
    ("${list.get(0)}", 1),
    ("${words.indexOf('cherry')}", 2),
    ("${words.indexOf('kiwi')}", -1),
    ("${list.lastIndexOf(5)}", 4),
    ("${list.toString()}", "[1, 2, 3, 4, 5]"),
    ("${words.toString()}", "[apple, banana, cherry]"),
    ("${list.subList(1, 3)}", [2, 3]),
    ("${list.containsAll({1, 2})}", True),
    ("${ {}.isEmpty() }", True),
    ("${words.empty}", False),
    ("${list.equals({1, 2, 3, 4, 5})}", True),
    ("${tags.size()}", 2),
    ("${tags.isEmpty()}", False),
    ("${tags.containsKey('team')}", True),
    ("${tags.containsKey('nope')}", False),
    ("${tags.containsValue('42')}", True),
    ("${tags.get('team')}", "core"),
    ("${tags.get('nope') == null}", True),
    ("${tags.getOrDefault('nope', 'dflt')}", "dflt"),
    ("${tags.keySet()}", ["team", "cost-center"]),
    ("${tags.values()}", ["core", "42"]),
    ("${tags.entrySet().size()}", 2),
    ("${tags.entrySet()[0].key}", "team"),
    ("${tags.entrySet()[1].getValue()}", "42"),
    ("${tags.toString()}", "{team=core, cost-center=42}"),
    ("${nested.a}", {"b": "deep"}),
    ("${ {a:1, b:2}.keySet() }", ["a", "b"]),
    ("${testArray.toString()}", "[good, {arrayVal=bad}, [{one=two}]]"),
]

NUMBERS: list[tuple[str, Any]] = [
    ("${ (0.8 * count).intValue() }", 2),
    ("${ratio.doubleValue()}", 0.5),
    ("${count.toString()}", "3"),
    ("${count.longValue()}", 3),
    ("${(3.7).intValue()}", 3),
    ("${(-3.7).intValue()}", -3),
    ("${count.equals(3)}", True),
    ("${count.equals(3.0)}", False),
    ("${count.compareTo(5)}", -1),
    ("${ratio.toString()}", "0.5"),
    ("${(2.0).toString()}", "2.0"),
    ("${true.toString()}", "true"),
    ("${enabled.booleanValue()}", True),
    ("${count.hashCode()}", 3),
]

TYPES: list[tuple[str, Any]] = [
    ("${T(java.lang.Math).max(3, 7)}", 7),
    ("${T(Math).min(3, 7)}", 3),
    ("${T(Math).max(1, 2.5)}", 2.5),
    ("${T(java.lang.Math).abs(-5)}", 5),
    ("${T(Math).abs(-2.5)}", 2.5),
    ("${T(Math).round(2.5)}", 3),
    ("${T(Math).round(-2.5)}", -2),
    ("${T(Math).round(2.4)}", 2),
    ("${T(Math).floor(2.7)}", 2.0),
    ("${T(Math).ceil(2.1)}", 3.0),
    ("${T(Math).pow(2, 8)}", 256.0),
    ("${T(Math).sqrt(16)}", 4.0),
    ("${T(Math).PI > 3.14}", True),
    ("${T(Math).floorMod(-7, 3)}", 2),
    ("${T(Math).floorDiv(-7, 2)}", -4),
    ("${T(Math).random() < 1}", True),
    ("${T(Math).signum(-2.5)}", -1.0),
    ("${T(Math).max(count, waitTime)}", 30),
    ("${T(java.lang.Integer).parseInt('42')}", 42),
    ("${T(Integer).parseInt('-42')}", -42),
    ("${T(Integer).valueOf('7') + 1}", 8),
    ("${T(Integer).parseInt('ff', 16)}", 255),
    ("${T(Integer).MAX_VALUE}", 2147483647),
    ("${T(Integer).MIN_VALUE}", -2147483648),
    ("${T(Integer).toString(255, 2)}", "11111111"),
    ("${T(Integer).toHexString(255)}", "ff"),
    ("${T(Integer).toHexString(-1)}", "ffffffff"),
    ("${T(java.lang.Long).parseLong('3000000000')}", 3_000_000_000),
    ("${T(Long).MAX_VALUE}", 9223372036854775807),
    ("${T(java.lang.Double).parseDouble('2.5')}", 2.5),
    ("${T(Double).parseDouble(' 2.5d ')}", 2.5),
    ("${T(Double).valueOf('1e3')}", 1000.0),
    ("${T(java.lang.Boolean).parseBoolean('TRUE')}", True),
    ("${T(Boolean).parseBoolean('yes')}", False),
    ("${T(Boolean).valueOf(true)}", True),
    ("${T(Boolean).TRUE}", True),
    ("${T(java.lang.Byte).parseByte('12')}", 12),
    ("${T(java.lang.String).valueOf(42)}", "42"),
    ("${T(String).valueOf(2.0)}", "2.0"),
    ("${T(String).valueOf(list)}", "[1, 2, 3, 4, 5]"),
    ("${T(String).format('%s-%03d', 'app', 7)}", "app-007"),
    ("${T(String).format('%.2f', 3.14159)}", "3.14"),
    ("${T(String).format('%.1f', 0.15)}", "0.2"),
    ("${T(String).format('%5s|%-5s|', 'ab', 'cd')}", "   ab|cd   |"),
    ("${T(String).format('%x', 255)}", "ff"),
    ("${T(String).format('%,d', 1234567)}", "1,234,567"),
    ("${T(String).format('%b %c %%', true, 'x')}", "true x %"),
    ("${T(String).format('%2$s %1$s', 'a', 'b')}", "b a"),
    ("${T(String).join('-', {'a', 'b', 'c'})}", "a-b-c"),
    ("${T(String).join('/', 'x', 'y')}", "x/y"),
    ("${T(java.util.UUID).randomUUID().toString().length()}", 36),
    (
        "${T(java.util.UUID).randomUUID().toString() matches '[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}'}",
        True,
    ),
    (
        "${T(java.util.UUID).fromString('123e4567-e89b-12d3-a456-426614174000').toString()}",
        "123e4567-e89b-12d3-a456-426614174000",
    ),
    ("${T(java.time.Instant).now().toEpochMilli()}", NOW_MS),
    ("${T(java.time.Instant).now().toString()}", "2023-11-14T22:13:20Z"),
    ("${T(java.time.Instant).ofEpochMilli(0).toString()}", "1970-01-01T00:00:00Z"),
    ("${T(java.time.Instant).ofEpochMilli(1500).toString()}", "1970-01-01T00:00:01.500Z"),
    ("${T(java.time.Instant).now().getEpochSecond()}", 1_700_000_000),
    ("${T(java.time.Instant).now().plusSeconds(60).toEpochMilli()}", NOW_MS + 60_000),
    (
        "${T(java.time.Instant).now().plus(1, T(java.time.temporal.ChronoUnit).DAYS).toString()}",
        "2023-11-15T22:13:20Z",
    ),
    ("${T(java.time.Instant).parse('2023-01-01T00:00:00Z').toEpochMilli()}", 1_672_531_200_000),
    ("${T(java.time.Instant).now().isAfter(T(java.time.Instant).EPOCH)}", True),
    ("${T(java.time.LocalDate).now().toString()}", "2023-11-14"),
    ("${T(java.time.LocalDate).now().plusDays(5).toString()}", "2023-11-19"),
    ("${T(java.time.LocalDate).of(2024, 1, 31).plusMonths(1).toString()}", "2024-02-29"),
    ("${T(java.time.LocalDate).now().minusWeeks(2).toString()}", "2023-10-31"),
    ("${T(java.time.LocalDate).now().getDayOfWeek().toString()}", "TUESDAY"),
    ("${T(java.time.LocalDate).now().getDayOfWeek() == T(java.time.DayOfWeek).TUESDAY}", True),
    ("${T(java.time.LocalDate).now().getDayOfWeek().getValue()}", 2),
    ("${T(java.time.LocalDate).now().dayOfWeek.name() == 'TUESDAY'}", True),
    ("${T(java.time.LocalDate).parse('2023-03-15').getMonthValue()}", 3),
    ("${T(java.time.LocalDate).now().year}", 2023),
    (
        "${T(java.time.LocalDate).now().with(T(java.time.temporal.TemporalAdjusters).lastDayOfMonth()).toString()}",
        "2023-11-30",
    ),
    (
        "${T(java.time.LocalDate).now().with(T(java.time.temporal.TemporalAdjusters)"
        ".next(T(java.time.DayOfWeek).FRIDAY)).toString()}",
        "2023-11-17",
    ),
    (
        "${T(java.time.LocalDate).now().with(T(java.time.temporal.TemporalAdjusters).firstDayOfMonth()).toString()}",
        "2023-11-01",
    ),
    (
        "${T(java.time.temporal.ChronoUnit).DAYS.between(T(java.time.LocalDate).parse('2023-01-01'), "
        "T(java.time.LocalDate).now())}",
        317,
    ),
    ("${T(java.time.LocalDate).now().isAfter(T(java.time.LocalDate).of(2023, 1, 1))}", True),
    ("${T(java.time.LocalDateTime).now().toString()}", "2023-11-14T22:13:20"),
    ("${T(java.time.LocalDateTime).now().getHour()}", 22),
    ("${T(java.time.LocalDateTime).of(2023, 1, 1, 10, 30).toString()}", "2023-01-01T10:30"),
    ("${T(java.time.LocalDateTime).now().plusHours(3).toLocalDate().toString()}", "2023-11-15"),
    ("${T(java.time.DayOfWeek).MONDAY.plus(8).toString()}", "TUESDAY"),
    ("${T(java.time.temporal.ChronoUnit).HOURS.toString()}", "Hours"),
    ("${new java.util.Date().getTime()}", NOW_MS),
    ("${new java.util.Date()}", NOW_MS),
    ("${'at ' + new java.util.Date()}", "at Tue Nov 14 22:13:20 UTC 2023"),
    ("${new java.util.Date(0).toString()}", "Thu Jan 01 00:00:00 UTC 1970"),
    ("${new java.util.Date(0).before(new java.util.Date())}", True),
    ('${new java.text.SimpleDateFormat("MM-dd-yyyy").format(new java.util.Date())}', "11-14-2023"),
    ("${new java.text.SimpleDateFormat('yyyyMMdd-HHmmss').format(new java.util.Date())}", "20231114-221320"),
    ('${new java.text.SimpleDateFormat("EEE, d MMM yyyy").format(new java.util.Date())}', "Tue, 14 Nov 2023"),
    (
        "${new java.text.SimpleDateFormat(\"yyyy-MM-dd'T'HH:mm:ss.SSSZ\").format(new java.util.Date())}",
        "2023-11-14T22:13:20.000+0000",
    ),
    ("${new java.text.SimpleDateFormat('hh:mm a').format(new java.util.Date())}", "10:13 PM"),
    ("${new java.text.SimpleDateFormat('yyyy-MM-dd').parse('2023-01-02').getTime()}", 1_672_617_600_000),
    ("${new java.util.Random(42).nextInt()}", -1170105035),
    ("${new java.util.Random(0).nextInt()}", -1155484576),
    ("${new java.util.Random().nextInt(5) < 5}", True),
    ("${new java.util.Random().nextBoolean() or true}", True),
    ("${new String('abc').length()}", 3),
    ("${new java.lang.String('x')}", "x"),
    ("${new Integer('5') + 1}", 6),
    ("${new java.lang.Boolean('TRUE')}", True),
    ("${T(java.net.URLEncoder).encode('a b&c=d/\u00e9', 'UTF-8')}", "a+b%26c%3Dd%2F%C3%A9"),
    ("${T(java.net.URLEncoder).encode('x*y-z_.~')}", "x*y-z_.%7E"),
]

ALL = STRINGS + LISTS_MAPS + NUMBERS + TYPES


@pytest.mark.parametrize(("text", "expected"), ALL, ids=[t for t, _ in ALL])
def test_methods_and_types(text: str, expected: Any) -> None:
    actual = ev(text)
    assert same(actual, expected), f"{text!r} -> {actual!r}, expected {expected!r}"


#: Constructors called with int arguments where Java declares long (or double): Spring's
#: reflective constructor resolver converts them, so kork's allowed types construct as in Java.
CONSTRUCTOR_CONVERSIONS = [
    ("${new java.util.UUID(0,0).toString()}", "00000000-0000-0000-0000-000000000000"),
    ("${new java.util.UUID(0, 0)}", "00000000-0000-0000-0000-000000000000"),
    ("${new java.util.UUID(-1, 1).toString()}", "ffffffff-ffff-ffff-0000-000000000001"),
    ("${new java.util.UUID(1, 2).getMostSignificantBits()}", 1),
    ("${new java.util.UUID(-5, 2).getMostSignificantBits()}", -5),
    ("${new java.util.UUID(1, -2).getLeastSignificantBits()}", -2),
    ("${new java.util.UUID(0,0).equals(T(java.util.UUID).fromString('0-0-0-0-0'))}", True),
    ("${new java.util.Date(1700000000).getTime()}", 1_700_000_000),
    ("${new java.util.Random(42).nextInt()}", -1170105035),
    ("${new java.lang.Long(5) + 1}", 6),
    ("${new java.lang.Double(2) / 4}", 0.5),
]


@pytest.mark.parametrize(
    ("text", "expected"), CONSTRUCTOR_CONVERSIONS, ids=[t for t, _ in CONSTRUCTOR_CONVERSIONS]
)
def test_constructors_convert_int_arguments(text: str, expected: Any) -> None:
    actual = ev(text)
    assert same(actual, expected), f"{text!r} -> {actual!r}, expected {expected!r}"


def test_constructor_arguments_out_of_range_or_count_fail_cleanly() -> None:
    for text in ("${new java.util.UUID(0)}", "${new java.util.UUID(9223372036854775808, 0)}"):
        result = evaluate(text, {})
        assert result.value == text and result.summary.has_failures, text
