"""The root a stage sees (section 4.2), evaluateVariables under v3 and v4, conditions written
without ``${}`` (stageEnabled, preconditions) and the pipeline-start pass."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from gennaker.clock import FrozenClock
from gennaker.expressions import (
    EvaluationContext,
    build_root,
    condition_true,
    evaluate_condition,
    evaluate_object,
    evaluate_pipeline_config,
    evaluate_variables,
    pipeline_start_root,
    spel_version,
)
from gennaker.expressions import evaluate_in as ex_evaluate_in
from tests.expressions.conftest import EXECUTION, NOW_MS, STAGE_CONTEXT, make_ctx


def test_root_has_stage_keys_and_helper_properties() -> None:
    root = build_root(STAGE_CONTEXT, execution=EXECUTION)
    assert root["account"] == "prod"
    assert root["execution"] is EXECUTION
    assert root["trigger"] is EXECUTION["trigger"]
    assert root["parameters"]["env"] == "prod"
    assert root["scmInfo"] == {"branch": "feature/new-release", "sha1": "bbb222"}
    assert "templateVariables" not in root
    assert set(root) >= set(STAGE_CONTEXT) | {"execution", "trigger", "parameters", "scmInfo"}
    assert len(root) == len(set(root))


def test_execution_and_trigger_win_over_stage_keys() -> None:
    root = build_root({"trigger": "mine", "execution": "mine", "x": 1}, execution=EXECUTION)
    assert root["trigger"] is EXECUTION["trigger"]
    assert root["execution"] is EXECUTION


def test_template_variables_only_when_given() -> None:
    root = build_root({}, execution=EXECUTION, template_variables={"region": "eu"})
    assert root["templateVariables"] == {"region": "eu"}


def test_parameters_default_to_the_stage_key_then_empty() -> None:
    no_params = {**EXECUTION, "trigger": {"type": "manual", "parameters": {}}}
    assert build_root({}, execution=no_params)["parameters"] == {}
    assert build_root({"parameters": {"p": 1}}, execution=no_params)["parameters"] == {"p": 1}


@pytest.mark.parametrize(
    ("scm", "expected"),
    [
        ([], None),
        ([{"branch": "branch1"}], "branch1"),
        ([{"branch": "branch1"}, {"branch": "master"}], "branch1"),
        ([{"branch": "develop"}, {"branch": "master"}], "develop"),
        ([{"branch": "master"}, {"branch": "develop"}], "master"),
        ([{"branch": "buildBranch"}, {"branch": "jenkinsBranch"}], "buildBranch"),
    ],
)
def test_scm_info_follows_orca(scm: list[dict[str, str]], expected: str | None) -> None:
    execution = {**EXECUTION, "trigger": {"type": "jenkins", "buildInfo": {"scm": scm}}}
    info = build_root({}, execution=execution)["scmInfo"]
    assert (info["branch"] if info else None) == expected


def test_orchestrations_have_no_execution_or_trigger_keys() -> None:
    root = build_root({"a": 1}, execution={"type": "ORCHESTRATION", "stages": []})
    assert "execution" not in root and "trigger" not in root
    assert root["parameters"] == {}


def test_v3_variables_are_evaluated_together() -> None:
    variables = [{"key": "a", "value": "${account}"}, {"key": "b", "value": "${a}-x"}]
    result, summary = evaluate_variables(variables, make_ctx(), sequential=False)
    assert result == [{"key": "a", "value": "prod"}, {"key": "b", "value": "${a}-x"}]
    assert summary.failures["a-x"][0]["description"] == "Failed to evaluate [value] : a-x not found"


def test_v4_variables_see_earlier_ones() -> None:
    variables = [
        {"key": "a", "value": "${account}"},
        {"key": "b", "value": "${a}-x", "description": "b from ${a}"},
        {"key": "c", "value": "${b.toUpperCase()}"},
        {"key": "n", "value": 5},
    ]
    result, summary = evaluate_variables(variables, make_ctx(), sequential=True)
    assert result == [
        {"key": "a", "value": "prod", "sourceValue": "{account}"},
        {"key": "b", "value": "prod-x", "description": "b from prod", "sourceValue": "{a}-x"},
        {"key": "c", "value": "PROD-X", "sourceValue": "{b.toUpperCase()}"},
        {"key": "n", "value": 5},
    ]
    assert not summary.has_failures


def test_v4_failed_variable_is_kept_and_not_visible_downstream() -> None:
    variables = [{"key": "a", "value": "${1/0}"}, {"key": "b", "value": "${a ?: 'fallback'}"}]
    result, summary = evaluate_variables(variables, make_ctx(), sequential=True)
    assert result[0]["value"] == "${1/0}"
    assert result[1]["value"] == "fallback"
    assert summary.failures["1/0"][0]["description"] == "Failed to evaluate [var] / by zero"


def test_v4_later_variable_shadows_a_context_key() -> None:
    variables = [{"key": "account", "value": "staging"}, {"key": "b", "value": "${account}"}]
    result, _ = evaluate_variables(variables, make_ctx(), sequential=True)
    assert result[1]["value"] == "staging"


@pytest.mark.parametrize(
    ("text", "enabled"),
    [
        ("trigger['dryRun'] == false", True),
        ("trigger.dryRun", False),
        ("parameters.env == 'prod'", True),
        ("parameters.env == 'dev'", False),
        ("'TRUE'", True),
        ("'yes'", False),
        ("#stage('Bake').hasSucceeded", True),
        ("#judgment('Approve') == 'ship it'", True),
        ("${parameters.env == 'prod'}", True),
        ("${parameters.runCanary}", True),
        ("${parameters.env}", False),
        ("1/0", False),
        ("missing", False),
        ("count", False),
        ("#toBoolean(parameters.runCanary)", True),
    ],
)
def test_conditions(text: str, enabled: bool) -> None:
    result = evaluate_condition(text, make_ctx())
    assert condition_true(result.value) is enabled


def test_condition_returns_the_raw_value_and_failures() -> None:
    ok = evaluate_condition("count * 2", make_ctx())
    assert ok.value == 6 and not ok.summary.has_failures
    bad = evaluate_condition("1/0", make_ctx())
    assert bad.value == "${1/0}"
    assert bad.summary.failures["1/0"][0]["description"] == "Failed to evaluate [expression] / by zero"


@pytest.mark.parametrize(("value", "expected"), [(True, True), ("true", True), ("True", True), (False, False),
                                                  ("false", False), ("yes", False), (1, False), (None, False),
                                                  (" true", False)])  # fmt: skip
def test_condition_true_rule(value: Any, expected: bool) -> None:
    assert condition_true(value) is expected


def test_condition_passes_non_strings_through() -> None:
    assert evaluate_condition(True, make_ctx()).value is True


def _start_ctx(
    trigger: dict[str, Any], template_variables: dict[str, Any] | None = None
) -> EvaluationContext:
    return EvaluationContext(
        root=pipeline_start_root(trigger, template_variables),
        allow_unknown_keys=False,
        clock=FrozenClock(NOW_MS),
    )


def test_pipeline_start_v3_evaluates_stages_with_trigger_only() -> None:
    config = {
        "name": "p",
        "stages": [
            {"refId": "1", "type": "wait", "comment": "${trigger.user} on ${parameters.env}"},
            {"refId": "2", "type": "wait", "comment": "${#stage('Bake').status}"},
            {"refId": "3", "type": "wait", "comment": "${execution.id}"},
        ],
    }
    trigger = {"user": "bob", "parameters": {"env": "dev"}}
    result, summary = evaluate_pipeline_config(config, _start_ctx(trigger))
    assert result["stages"][0]["comment"] == "bob on dev"
    assert result["stages"][1]["comment"] == "${#stage('Bake').status}"
    assert result["stages"][2]["comment"] == "${execution.id}"
    assert summary.failures["execution.id"][0]["level"] == "ERROR"
    assert result["expressionEvaluationSummary"] == summary.to_json()


def test_pipeline_start_v4_leaves_stages_alone() -> None:
    stages = [{"refId": "1", "type": "wait", "comment": "${trigger.user}"}]
    config = {"spelEvaluator": "v4", "description": "${trigger.user}", "stages": stages}
    result, summary = evaluate_pipeline_config(config, _start_ctx({"user": "bob"}))
    assert result["description"] == "bob"
    assert result["stages"] is stages
    assert not summary.has_failures


def test_pipeline_start_sees_template_variables() -> None:
    config = {"description": "${templateVariables.region}"}
    result, _ = evaluate_pipeline_config(config, _start_ctx({}, {"region": "eu-west-1"}))
    assert result["description"] == "eu-west-1"


@pytest.mark.parametrize(
    ("value", "expected"), [("v4", "v4"), ("V4", "v4"), ("v3", "v3"), (None, "v3"), ("v2", "v3")]
)
def test_spel_version(value: str | None, expected: str) -> None:
    assert spel_version(value) == expected


class LazyMapping(Mapping[str, Any]):
    """A mapping that computes values on access, like the engine's execution view."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        self.reads: list[str] = []

    def __getitem__(self, key: str) -> Any:
        self.reads.append(key)
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class LazySequence(Sequence[Any]):
    def __init__(self, items: list[Any]) -> None:
        self._items = items

    def __getitem__(self, index: Any) -> Any:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)


def test_lazy_mappings_and_sequences_are_plain_data_to_expressions() -> None:
    stages = LazySequence([LazyMapping({"name": "a", "status": "SUCCEEDED"}), LazyMapping({"name": "b"})])
    execution = LazyMapping({"id": "e1", "stages": stages, "trigger": LazyMapping({"user": "u"})})
    ctx = EvaluationContext(root=build_root(LazyMapping({"k": "v"}), execution=execution))
    cases = {
        "${k}": "v",
        "${execution.stages.size()}": 2,
        "${execution.stages.![name]}": ["a", "b"],
        "${execution.stages.?[status == 'SUCCEEDED'][0].name}": "a",
        "${#stage('b').hasSucceeded}": False,
        "${#toJson(execution.trigger)}": '{"user":"u"}',
        "${execution.trigger}": {"user": "u"},
        "${'x' + execution.stages.![name]}": "xa,b",
    }
    for text, expected in cases.items():
        assert ex_evaluate_in(text, ctx).value == expected, text


def test_walk_accepts_any_mapping_and_returns_dicts() -> None:
    result, _ = evaluate_object(
        LazyMapping({"a": "${k}", "b": LazySequence(["${k}"])}), EvaluationContext(root={"k": 1})
    )
    assert result == {"a": 1, "b": [1]}
    assert type(result) is dict and type(result["b"]) is list
