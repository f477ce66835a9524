"""Failure handling as Orca does it: originals kept, ``expressionEvaluationSummary`` entries in
Spinnaker's exact shape, unknown keys in both modes, stale-entry clean-up, failOnFailedExpressions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gennaker.expressions import (
    SUMMARY_KEY,
    EvaluationContext,
    evaluate,
    evaluate_object,
    evaluate_stage_context,
    fail_on_failed_expressions,
    merge_exception_errors,
    merge_summary,
    summary_errors,
)
from gennaker.expressions.summary import EvaluationSummary
from tests.expressions.conftest import EXECUTION, NOW_MS, make_ctx

SPEL = "org.springframework.expression.spel.SpelEvaluationException"
HELPER = "com.netflix.spinnaker.kork.expressions.SpelHelperFunctionException"


def run(obj: Any, **opts: Any) -> tuple[Any, dict[str, Any]]:
    result, summary = evaluate_object(obj, make_ctx(**opts))
    return result, summary.to_json()


def test_missing_key_is_info_and_keeps_the_original() -> None:
    result, summary = run({"account": "${missing}"})
    assert result == {"account": "${missing}"}
    assert summary == {
        "missing": [
            {
                "level": "INFO",
                "description": "Failed to evaluate [account] : missing not found",
                "timestamp": NOW_MS,
            }
        ]
    }


def test_exception_is_error_with_java_exception_type() -> None:
    result, summary = run({"name": "${1/0}"})
    assert result == {"name": "${1/0}"}
    assert summary == {
        "1/0": [
            {
                "level": "ERROR",
                "description": "Failed to evaluate [name] / by zero",
                "exceptionType": "java.lang.ArithmeticException",
                "timestamp": NOW_MS,
            }
        ]
    }


def test_error_description_has_dollar_signs_removed() -> None:
    _, summary = run({"x": "${'$' + 1/0}"})
    (entries,) = summary.values()
    assert entries[0]["description"] == "Failed to evaluate [x] / by zero"
    assert "'$' + 1/0" in summary


def test_composite_reemits_null_parts_and_reports_info_on_the_joined_key() -> None:
    result, summary = run({"x": "a.${ENV1}.b.${account}"})
    assert result == {"x": "a.${ENV1}.b.prod"}
    assert summary == {
        "a.ENV1.b.account": [
            {
                "level": "INFO",
                "description": "Failed to evaluate [x] : a.ENV1.b.account not found",
                "timestamp": NOW_MS,
            }
        ]
    }


def test_composite_with_all_parts_unresolved_counts_once() -> None:
    result, summary = run({"test": "a.${ENV1}.b.${ENV2}"})
    assert result == {"test": "a.${ENV1}.b.${ENV2}"}
    assert list(summary) == ["a.ENV1.b.ENV2"]


def test_escaped_literal_in_composite_is_not_a_failure() -> None:
    result, summary = run({"test": "a.${'${ESCAPED_LITERAL}'}.b.${account}"})
    assert result == {"test": "a.${ESCAPED_LITERAL}.b.prod"}
    assert summary == {}


def test_list_elements_have_no_field_name() -> None:
    _, summary = run({"clusters": ["${missing}"]})
    assert summary["missing"][0]["description"] == "Failed to evaluate ${missing} : missing not found"


def test_nested_map_names_the_nearest_key() -> None:
    _, summary = run({"outer": {"inner": "${missing}"}})
    assert summary["missing"][0]["description"] == "Failed to evaluate [inner] : missing not found"


def test_same_failure_in_two_fields_is_one_entry_naming_both() -> None:
    _, summary = run({"a": "${1/0}", "b": "${1/0}"})
    assert summary["1/0"] == [
        {
            "level": "ERROR",
            "description": "Failed to evaluate [a, b] / by zero",
            "exceptionType": "java.lang.ArithmeticException",
            "timestamp": NOW_MS,
        }
    ]


def test_null_result_is_info() -> None:
    result, summary = run({"n": "${nothing}", "z": "${null}"})
    assert result == {"n": "${nothing}", "z": "${null}"}
    assert summary["nothing"][0]["level"] == "INFO"
    assert summary["null"][0]["description"] == "Failed to evaluate [z] : null not found"


def test_unterminated_template_is_a_parse_error_keyed_like_spinnaker() -> None:
    text = '${#stage("Deploy").status.toString() '
    result, summary = run({"expression": text})
    assert result == {"expression": text}
    key = '{#stage("Deploy").status.toString() '
    assert list(summary) == [key]
    entry = summary[key][0]
    assert entry["level"] == "ERROR"
    assert entry["exceptionType"] == "org.springframework.expression.ParseException"
    assert entry["description"].startswith("Failed to evaluate [expression] No ending suffix '}'")


def test_syntax_error_reports_the_column() -> None:
    _, summary = run({"x": "${1 +* 2}"})
    entry = summary["1 +* 2"][0]
    assert entry["exceptionType"] == "org.springframework.expression.spel.SpelParseException"
    assert "column 4" in entry["description"]


def test_helper_failure_is_a_helper_exception() -> None:
    _, summary = run({"s": "${#stage('Nope')}"})
    entry = summary["#stage('Nope')"][0]
    assert entry == {
        "level": "ERROR",
        "description": "Failed to evaluate [s] Unable to locate [Nope] using #stage(Nope) in execution "
        "01HEXEC0000000000000000000",
        "exceptionType": HELPER,
        "timestamp": NOW_MS,
    }


def test_to_json_of_an_execution_holding_expressions_fails() -> None:
    execution = copy.deepcopy(EXECUTION)
    execution["stages"][5]["context"]["comments"] = "${#toJson(execution)}"
    context = {"comments": "${#toJson(execution)}", "waitTime": 1}
    result, summary = run(context, context=context, execution=execution)
    assert result["comments"] == "${#toJson(execution)}"
    assert summary["#toJson(execution)"][0]["description"] == (
        "Failed to evaluate [comments] result for toJson cannot contain an expression"
    )


@pytest.mark.parametrize(
    ("source", "allow", "expected"),
    [
        ("${noexists}-foo", False, "${noexists}-foo"),
        ('${noexists ?: "bacon"}', True, "bacon"),
        ('${noexists ?: "bacon"}', False, '${noexists ?: "bacon"}'),
        ('${isempty ?: "bacon"}', True, "bacon"),
        ('${isempty ?: "bacon"}', False, "bacon"),
        ('${isnull ?: "bacon"}', True, "bacon"),
        ('${isnull ?: "bacon"}', False, "bacon"),
        ("${exists}", False, "yay"),
        ("${exists.length()}", False, 3),
        ("${#root['noexists'] ?: 'indexing never fails'}", False, "indexing never fails"),
    ],
)
def test_unknown_keys_in_both_modes(source: str, allow: bool, expected: Any) -> None:
    root = {"exists": "yay", "isempty": "", "isnull": None}
    result = evaluate(source, root, allow_unknown_keys=allow)
    assert result.value == expected


def test_unknown_key_at_pipeline_start_is_an_error_naming_the_key() -> None:
    result = evaluate("${trigger.parameters.nope}", {"trigger": {"parameters": {}}}, allow_unknown_keys=False)
    entry = result.summary.failures["trigger.parameters.nope"][0]
    assert entry["level"] == "ERROR"
    assert entry["exceptionType"] == SPEL
    assert "Property or field 'nope' cannot be found" in entry["description"]


def test_unknown_key_at_stage_time_is_null() -> None:
    result = evaluate("${trigger.parameters.nope}", {"trigger": {"parameters": {}}})
    assert result.value == "${trigger.parameters.nope}"
    assert result.summary.failures["trigger.parameters.nope"][0]["level"] == "INFO"


def test_keys_are_evaluated_too() -> None:
    result, _ = run({"${account}": "somevalue", "${account}again": {"cats": "dogs"}})
    assert result == {"prod": "somevalue", "prodagain": {"cats": "dogs"}}


def test_single_expressions_keep_their_type() -> None:
    root = {"var1": 17, "map1": {"map1key": "map1val"}, "f": 1.5, "b": False, "l": [1, "x"]}
    source = {"test": {"k1": "${var1}", "k2": "${map1}", "k3": "${f}", "k4": "${b}", "k5": "${l}", "k6": 4}}
    result, summary = evaluate_object(source, EvaluationContext(root=root))
    assert result == {
        "test": {"k1": 17, "k2": {"map1key": "map1val"}, "k3": 1.5, "k4": False, "k5": [1, "x"], "k6": 4}
    }
    assert type(result["test"]["k1"]) is int and type(result["test"]["k4"]) is bool
    assert not summary.has_failures


def test_walk_covers_nested_lists_and_maps_and_leaves_the_source_alone() -> None:
    source = {
        "test": "${h1}",
        "nest": {"nest2": ["${h1}", "${h1}"]},
        "clusters": ["${h1}", "${h2}"],
        "intval": 4,
    }
    before = copy.deepcopy(source)
    result, _ = evaluate_object(source, EvaluationContext(root={"h1": "h1val", "h2": "h2val"}))
    assert result == {
        "test": "h1val",
        "nest": {"nest2": ["h1val", "h1val"]},
        "clusters": ["h1val", "h2val"],
        "intval": 4,
    }
    assert source == before


def test_results_are_not_evaluated_again() -> None:
    result = evaluate("${inner}", {"inner": "${account}", "account": "prod"})
    assert result.value == "${account}"


def test_attempted_and_total_are_recorded() -> None:
    _, summary = evaluate_object({"a": "${account}", "b": "${missing}", "c": "plain"}, make_ctx())
    assert summary.attempted == frozenset({"account", "missing"})
    assert summary.total_evaluated == 2
    assert summary.failure_count == 1


def test_merge_drops_stale_entries_and_keeps_untouched_ones() -> None:
    existing = {
        "a": [{"level": "INFO", "description": "old a"}],
        "b": [{"level": "INFO", "description": "old b"}],
    }
    new = EvaluationSummary({"c": [{"level": "ERROR", "description": "new c"}]}, frozenset({"a", "c"}), 2)
    assert merge_summary(existing, new) == {
        "b": [{"level": "INFO", "description": "old b"}],
        "c": [{"level": "ERROR", "description": "new c"}],
    }


def test_stage_context_pass_removes_a_failure_that_now_succeeds() -> None:
    context = {
        "x": "${later}",
        SUMMARY_KEY: {
            "later": [{"level": "INFO", "description": "Failed to evaluate [x] : later not found"}]
        },
    }
    first, summary = evaluate_stage_context(context, make_ctx(context=context))
    assert first[SUMMARY_KEY] == {
        "later": [
            {"level": "INFO", "description": "Failed to evaluate [x] : later not found", "timestamp": NOW_MS}
        ]
    }
    assert summary.has_failures
    resolved = {**context, "later": "now"}
    second, summary = evaluate_stage_context(resolved, make_ctx(context=resolved))
    assert second["x"] == "now"
    assert SUMMARY_KEY not in second
    assert not summary.has_failures


def test_stage_context_pass_does_not_evaluate_the_summary_itself() -> None:
    context = {
        SUMMARY_KEY: {"k": [{"level": "INFO", "description": "Failed to evaluate ${account} : k not found"}]}
    }
    result, _ = evaluate_stage_context(context, make_ctx(context=context))
    assert result[SUMMARY_KEY]["k"][0]["description"] == "Failed to evaluate ${account} : k not found"


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"failOnFailedExpressions": True, SUMMARY_KEY: {"x": [{"level": "INFO"}]}}, True),
        ({"failOnFailedExpressions": True, SUMMARY_KEY: {"x": [{"level": "ERROR"}]}}, True),
        ({"failOnFailedExpressions": "true", SUMMARY_KEY: {"x": [{"level": "ERROR"}]}}, True),
        ({"failOnFailedExpressions": False, SUMMARY_KEY: {"x": [{"level": "ERROR"}]}}, False),
        ({SUMMARY_KEY: {"x": [{"level": "ERROR"}]}}, False),
        ({"failOnFailedExpressions": True, SUMMARY_KEY: {}}, False),
        ({"failOnFailedExpressions": True}, False),
    ],
)
def test_fail_on_failed_expressions(context: dict[str, Any], expected: bool) -> None:
    assert fail_on_failed_expressions(context) is expected


def test_descriptions_go_to_exception_details_errors() -> None:
    summary = {"a": [{"level": "ERROR", "description": "d1"}], "b": [{"level": "INFO", "description": "d2"}]}
    assert summary_errors(summary) == ["d1", "d2"]
    assert merge_exception_errors(None, ["d1"]) == {
        "details": {"error": "Failed Expression Evaluation", "errors": ["d1"]}
    }
    existing = {"exceptionType": "X", "details": {"error": "boom", "errors": ["first"]}}
    assert merge_exception_errors(existing, ["d1"]) == {
        "exceptionType": "X",
        "details": {"error": "boom", "errors": ["first", "d1"]},
    }


def test_a_dollar_in_a_regex_stays_in_the_description() -> None:
    """Item 16 of issue #10: every "$" was dropped from error descriptions, so the regex text in
    them lost its end anchor ('^(a+)+' for '^(a+)+$'); only the "${" of expressions goes."""
    result = evaluate("${'" + "a" * 38 + "!'.matches('^(a+)+$')}", {})
    (entries,) = result.summary.failures.values()
    assert "regex '^(a+)+$' could backtrack too long" in entries[0]["description"]
    assert "${" not in entries[0]["description"]
