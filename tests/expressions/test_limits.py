"""Hostile expressions end quickly with a clean error: length, steps, wall time, sizes, nesting,
catastrophic regexes, number growth, huge or cyclic data. (No timings are asserted.)"""

from __future__ import annotations

from typing import Any

import pytest

from gennaker.expressions import (
    EvaluationContext,
    ExpressionError,
    LimitExceeded,
    Limits,
    compile_expression,
    evaluate,
    evaluate_object,
)


def failure(text: str, root: dict[str, Any] | None = None, **opts: Any) -> dict[str, Any]:
    result = evaluate(text, root or {}, **opts)
    assert result.value == text
    entries = [e for es in result.summary.failures.values() for e in es]
    assert len(entries) == 1 and entries[0]["level"] == "ERROR", result.summary.to_json()
    return entries[0]


def test_expression_length_limit() -> None:
    text = "${'" + "a" * 10_001 + "'}"
    assert "longer than 10000 characters" in failure(text)["description"]
    assert evaluate("${'" + "a" * 9_000 + "'}", {}).value == "a" * 9_000


def test_expression_length_limit_is_configurable() -> None:
    assert (
        "longer than 20"
        in failure("${'" + "a" * 30 + "'}", limits=Limits(max_expression_length=20))["description"]
    )


def test_compile_expression_enforces_length() -> None:
    with pytest.raises(LimitExceeded):
        compile_expression("1+" * 6000 + "1")


def test_step_limit() -> None:
    entry = failure("${ {1,2,3,4,5,6,7,8,9,10}.![#this * 2].![#this + 1] }", limits=Limits(max_steps=20))
    assert "evaluation steps" in entry["description"]


def test_default_step_limit_stops_multiplying_projections() -> None:
    text = "${'x'.repeat(50000).split('').![#this].![#this].![#this]}"
    assert "evaluation steps" in failure(text)["description"]


def test_wall_time_limit() -> None:
    text = "${'x'.repeat(5000).split('').![#this + #this].size()}"
    assert "seconds" in failure(text, limits=Limits(max_seconds=0.0))["description"]


def test_string_size_limits() -> None:
    assert "string longer than" in failure("${'a'.repeat(3000000)}")["description"]
    assert "string longer than" in failure("${'ab' * 2000000}")["description"]
    assert (
        "string longer than"
        in failure(
            "${'a'.repeat(100).replace('a', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'.repeat(1000))}"
        )["description"]
    )


def test_growth_through_concatenation_in_projections_is_bounded() -> None:
    root = {"s": "a" * 1_000_000}
    text = "${ {1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20}.![#root.s + #root.s] }"
    assert "characters and elements in all" in failure(text, root)["description"]


def test_collection_size_limit() -> None:
    limits = Limits(max_collection_size=1000)
    assert "collection larger than" in failure("${'ab'.repeat(600).split('')}", limits=limits)["description"]
    assert (
        "collection larger than"
        in failure("${'ab'.repeat(600).split('').![#this]}", limits=limits)["description"]
    )


@pytest.mark.parametrize(
    "text",
    [
        "${'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!' matches '(a+)+$'}",
        "${'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!' matches '(a|aa)*$'}",
        "${'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'.replaceAll('(x+x+)+y', '')}",
        "${'a'.repeat(20000).matches('.*.*.*.*=')}",
        "${'a'.repeat(200000).matches('a*')}",
    ],
)
def test_catastrophic_regexes_are_refused(text: str) -> None:
    assert "regex" in failure(text)["description"]


def test_safe_regexes_on_long_input_still_run() -> None:
    assert evaluate("${'a'.repeat(50000).matches('a*')}", {}).value is True
    assert evaluate("${'a-b'.repeat(1000).split('-').size()}", {}).value == 1001
    assert evaluate("${'host-name-01'.matches('^[a-z0-9]+(-[a-z0-9]+)*$')}", {}).value is True


def test_regex_length_limit() -> None:
    assert "regex longer than" in failure("${'a' matches '" + "a" * 1001 + "'}")["description"]


def test_nesting_depth_limit() -> None:
    deep = "1+(" * 150 + "1" + ")" * 150
    assert "nested more than" in failure("${" + deep + "}")["description"]
    lists = "{" * 150 + "}" * 150
    assert "nested more than" in failure("${" + lists + "}")["description"]


def test_long_flat_chains_do_not_recurse() -> None:
    assert evaluate("${" + "+".join(["1"] * 3000) + "}", {}).value == 3000
    assert evaluate("${a" + ".a" * 2000 + "}", {"a": None}, allow_unknown_keys=True).summary.has_failures
    assert evaluate("${" + "!" * 3000 + "true}", {}).value is True
    assert evaluate("${" + "(" * 2000 + "1" + ")" * 2000 + "}", {}).value == 1


@pytest.mark.parametrize(
    "text", ["${2^1000}", "${10^100000000}", "${9223372036854775807 + 1}", "${big * big * big}"]
)
def test_numbers_cannot_grow_without_bound(text: str) -> None:
    assert "overflow" in failure(text, {"big": 2**40})["description"]


def test_cyclic_results_are_refused() -> None:
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    assert "nested too deeply" in failure("${c}", {"c": cyclic})["description"]


def test_yaml_bombs_are_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    assert "too large" in failure("${#readYaml(bomb)}", {"bomb": bomb})["description"]


def test_deeply_nested_input_data_does_not_crash_the_walk() -> None:
    data: Any = "${x}"
    for _ in range(3000):
        data = {"k": data}
    result, _ = evaluate_object(data, EvaluationContext(root={"x": 1}))
    assert isinstance(result, dict)


def test_limit_errors_are_expression_errors() -> None:
    assert issubclass(LimitExceeded, ExpressionError)


def test_cyclic_values_in_composite_strings_are_refused() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    assert "nested too deeply" in failure("x-${c}", {"c": cyclic})["description"]
    assert "nested too deeply" in failure("${c.toString()}", {"c": cyclic})["description"]


def test_expression_length_limit_applies_to_each_expression_not_the_text() -> None:
    """Spring checks each expression it extracts from a template (checkExpressionLength), so
    literal text around the expressions does not count; Orca's PipelineExpressionLengthTest
    evaluates a ${...} comparing a root value with a 10975-character literal (its limit raised)."""
    literal = "x" * 20_000
    assert evaluate(literal + "${1 + 1}" + literal, {}).value == literal + "2" + literal
    many = "-".join(["${'" + "a" * 9_000 + "'}"] * 3)
    assert evaluate(many, {}).value == "-".join(["a" * 9_000] * 3)
    long_literal = "T" * 10_975
    limits = Limits(max_expression_length=11_000)
    text = '${status.toString() == "' + long_literal + '"}'
    assert evaluate(text, {"status": long_literal}, limits=limits).value is True
    assert "longer than 10000 characters" in failure("ok ${'" + "a" * 10_001 + "'} ok")["description"]
