"""Parse errors (clean, with a position), the compile cache, template scanning, and Java regex
syntax on Python's engine."""

from __future__ import annotations

from typing import Any

import pytest

from gennaker.expressions import (
    ExpressionError,
    ExpressionSyntaxError,
    compile_expression,
    compile_template,
    evaluate,
)


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("1 +* 2", 4),
        ("a.", 3),
        ("(1", 3),
        ("'abc", 1),
        ("a ? b", 6),
        ("1 == 1 == 1", 8),
        ("2^3^2", 4),
        ("a = 1", 3),
        ("@bean", 1),
        ("x.#y", 3),
        ("new int[3]", 8),
        ("{1, 2", 6),
    ],
)
def test_syntax_errors_report_the_column(text: str, column: int) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_expression(text)
    assert info.value.column == column
    assert f"column {column}" in info.value.message
    assert info.value.java_type == "org.springframework.expression.spel.SpelParseException"


def test_syntax_error_line_for_multiline_expressions() -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_expression("1 +\n  * 2")
    assert (info.value.line, info.value.column) == (2, 3)


def test_empty_expression() -> None:
    with pytest.raises(ExpressionSyntaxError):
        compile_expression("   ")
    result = evaluate("${}", {})
    assert result.value == "${}"
    (entries,) = result.summary.failures.values()
    assert "No expression defined" in entries[0]["description"]


def test_compile_is_cached_by_text() -> None:
    assert compile_expression("a.b + 1") is compile_expression("a.b + 1")
    assert compile_template("x-${a}") is compile_template("x-${a}")


def test_template_parts() -> None:
    template = compile_template("a ${x} b ${ {k: 1}['k'] } c")
    assert template.key == "a x b {k: 1}['k'] c"
    assert template.single is None
    assert compile_template("${ x }").single is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${a", "No ending suffix '}'"),
        ("${a)}", "Found closing ')'"),
        ("${(a}", "most recent opening is '('"),
        ("${'a}", "non terminating string literal"),
        ("${[a}", "most recent opening is '['"),
    ],
)
def test_template_scanning_errors(text: str, message: str) -> None:
    result = evaluate(text, {"a": 1})
    assert result.value == text
    (entries,) = result.summary.failures.values()
    assert message in entries[0]["description"]
    assert entries[0]["exceptionType"] == "org.springframework.expression.ParseException"


def test_expression_errors_are_gennaker_errors() -> None:
    from gennaker.errors import GennakerError

    assert issubclass(ExpressionError, GennakerError)


REGEXES: list[tuple[str, str, Any]] = [
    ("'abc' matches '\\p{Lower}+'", "", True),
    ("'ABC' matches '\\p{Upper}{3}'", "", True),
    ("'a1_' matches '[\\p{Alnum}_]+'", "", True),
    ("'a b' matches 'a\\p{Space}b'", "", True),
    ("'a.b' matches '\\p{Alpha}\\p{Punct}\\p{Alpha}'", "", True),
    ("'ff' matches '\\p{XDigit}+'", "", True),
    ("'x1' matches '\\P{Digit}\\d'", "", True),
    ("'\u00e9t\u00e9' matches '\\p{L}+'", "", True),
    ("'abc' matches '\\w+'", "", True),
    ("'\u00e9' matches '\\w'", "", False),
    ("'a.b' matches '\\Qa.b\\E'", "", True),
    ("'axb' matches '\\Qa.b\\E'", "", False),
    ("'2023-01-02' matches '(?<y>\\d{4})-(?<m>\\d\\d)-\\d\\d'", "", True),
    ("'abab' matches '(?<p>ab)\\k<p>'", "", True),
    ("'aaa' matches 'a*+'", "", True),
    ("'aaa' matches '(?>a+)'", "", True),
    ("'abc\n' matches 'abc\\z'", "", False),
    ("'x\ty' matches 'x\\hy'", "", True),
    ("'line\r\n' matches 'line\\R'", "", True),
    ("'2023-11-14'.replaceAll('(?<y>\\d+)-(\\d+)-(\\d+)', '${y}')", "", "2023"),
    ("'a&b' matches '[a&]&b'", "", True),
]


@pytest.mark.parametrize(("text", "unused", "expected"), REGEXES, ids=[t for t, _, _ in REGEXES])
def test_java_regex_syntax(text: str, unused: str, expected: Any) -> None:
    result = evaluate("${" + text + "}", {})
    assert not result.summary.has_failures, result.summary.to_json()
    assert result.value == expected


@pytest.mark.parametrize(
    "pattern",
    ["[a-z&&[^aeiou]]", "[a[b]]", "a(?i)b", "\\p{IsGreek}", "(?d)a", "\\G", "(", "a{2,1}", "[z-a]"],
)
def test_unsupported_or_invalid_java_regex_is_a_pattern_syntax_error(pattern: str) -> None:
    result = evaluate("${'x' matches p}", {"p": pattern})
    (entries,) = result.summary.failures.values()
    assert entries[0]["exceptionType"] == "java.util.regex.PatternSyntaxException"


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        ("$2", "No group 2"),
        ("${nope}", "No group with name"),
        ("$", "Illegal group reference"),
        ("x\\", "escaped"),
    ],
)
def test_bad_replacement_strings(replacement: str, message: str) -> None:
    result = evaluate("${'ab'.replaceAll('(a)', r)}", {"r": replacement})
    (entries,) = result.summary.failures.values()
    assert message in entries[0]["description"]
