"""Pipeline config validation: every problem reported at once, each at its JSON path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gennaker.errors import FieldError, InvalidInput
from gennaker.model.pipeline import (
    FINALLY_REF_PREFIX,
    assign_linear_ref_ids,
    check_pipeline,
    validate_pipeline,
)
from gennaker.model.pipeline_fields import lock_specs
from gennaker.model.pipeline_graph import find_cycles

Json = dict[str, Any]

KNOWN_TYPES = {"wait", "webhook", "manualJudgment", "preconfiguredWebhook", "myWebhook", "fail"}


def known(stage_type: str) -> bool:
    return stage_type in KNOWN_TYPES


def pipeline(**fields: Any) -> Json:
    config: Json = {"application": "shop", "name": "deploy"}
    config.update(fields)
    return config


def stage(ref_id: str | None, *requisites: str, type: str = "wait", **extra: Any) -> Json:
    out: Json = {"type": type, "name": f"stage {ref_id}"}
    if ref_id is not None:
        out["refId"] = ref_id
        out["requisiteStageRefIds"] = list(requisites)
    out.update(extra)
    return out


def paths(errors: list[FieldError]) -> list[str]:
    return [e.path for e in errors]


def only_error(config: object, **kwargs: Any) -> FieldError:
    errors = validate_pipeline(config, **kwargs)
    assert len(errors) == 1, errors
    return errors[0]


# -- the document and its top-level fields -----------------------------------------------------------


def test_a_valid_dag_pipeline_has_no_errors() -> None:
    config = pipeline(
        stages=[stage("1"), stage("2", "1"), stage("3", "1"), stage("4", "2", "3", type="manualJudgment")],
        triggers=[{"type": "webhook", "enabled": True, "source": "ci"}],
        parameterConfig=[
            {
                "name": "env",
                "default": "staging",
                "required": True,
                "hasOptions": True,
                "options": [{"value": "staging"}, {"value": "prod"}],
            },
        ],
        notifications=[{"type": "slack", "address": "#d", "level": "pipeline", "when": ["pipeline.failed"]}],
        locks=[{"name": "prod-db", "mode": "newest_first"}, {"name": "${parameters.env}"}],
        **{"finally": [stage("c1", type="webhook"), stage("c2", "c1")]},
    )
    assert validate_pipeline(config, known_stage_type=known) == []
    check_pipeline(config, known_stage_type=known)  # does not raise


@pytest.mark.parametrize("config", [None, [], "pipeline", 3])
def test_a_config_that_is_not_an_object_is_rejected_at_the_root(config: object) -> None:
    assert only_error(config) == FieldError("$", "a pipeline config must be a JSON object")


@pytest.mark.parametrize(
    ("config", "path", "message"),
    [
        ({"application": "shop"}, "$.name", "is required"),
        ({"application": "shop", "name": None}, "$.name", "is required"),
        ({"application": "shop", "name": "  "}, "$.name", "must not be empty"),
        ({"application": "shop", "name": 3}, "$.name", "must be a string"),
        ({"name": "deploy"}, "$.application", "is required"),
        ({"name": "deploy", "application": ""}, "$.application", "must not be empty"),
    ],
)
def test_name_and_application_are_required(config: Json, path: str, message: str) -> None:
    assert only_error(config) == FieldError(path, message)


def test_name_and_application_may_be_left_to_the_caller() -> None:
    config: Json = {"stages": [stage("1")]}
    assert validate_pipeline(config, require_name=False, require_application=False) == []
    assert paths(validate_pipeline(config)) == ["$.name", "$.application"]


def test_stages_may_be_absent_or_empty_but_must_be_a_list() -> None:
    assert validate_pipeline(pipeline()) == []
    assert validate_pipeline(pipeline(stages=[])) == []
    assert only_error(pipeline(stages={"1": {}})) == FieldError("$.stages", "must be a list of stages")
    assert only_error(pipeline(stages=None)).path == "$.stages"


def test_every_problem_is_reported_not_just_the_first() -> None:
    config = {
        "application": "",
        "stages": [stage("1"), "oops", {"refId": "3", "requisiteStageRefIds": ["9"]}],
        "triggers": [{"enabled": True}],
    }
    assert paths(validate_pipeline(config)) == [
        "$.name",
        "$.application",
        "$.stages[1]",
        "$.stages[2].type",
        "$.stages[2].requisiteStageRefIds[0]",
        "$.triggers[0].type",
    ]


def test_check_pipeline_raises_one_invalid_input_with_all_errors() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_pipeline({"stages": [{"refId": "1"}]})
    assert paths(list(caught.value.errors)) == ["$.name", "$.application", "$.stages[0].type"]
    assert "$.stages[0].type: is required" in caught.value.message


# -- stages -------------------------------------------------------------------------------------------


def test_a_stage_that_is_not_an_object() -> None:
    config = pipeline(stages=[stage("1"), ["wait"]])
    assert only_error(config) == FieldError("$.stages[1]", "a stage must be a JSON object")


def test_a_stage_without_a_type_is_named_by_index() -> None:
    stages = [stage("1"), stage("2", "1"), stage("3", "2"), {"refId": "4", "requisiteStageRefIds": ["3"]}]
    assert only_error(pipeline(stages=stages)) == FieldError("$.stages[3].type", "is required")
    stages[3]["type"] = ""
    assert only_error(pipeline(stages=stages)) == FieldError("$.stages[3].type", "is required")


def test_unknown_stage_types_are_reported_only_with_a_registry() -> None:
    config = pipeline(stages=[stage("1"), stage("2", "1", type="deployManifest")])
    assert validate_pipeline(config) == []
    assert only_error(config, known_stage_type=known) == FieldError(
        "$.stages[1].type", "unknown stage type 'deployManifest'"
    )


def test_the_alias_is_looked_up_instead_of_the_type() -> None:
    # Orca's DefaultStageResolver: a preconfigured webhook has type "myWebhook"... and alias
    # "preconfiguredWebhook"; the alias decides, whatever the type says.
    good = stage("1", type="notRegistered", alias="preconfiguredWebhook")
    bad = stage("2", "1", type="webhook", alias="nope")
    errors = validate_pipeline(pipeline(stages=[good, bad]), known_stage_type=known)
    assert errors == [FieldError("$.stages[1].alias", "unknown stage type 'nope'")]
    assert only_error(pipeline(stages=[stage("1", alias=7)])) == FieldError(
        "$.stages[0].alias", "must be a string"
    )


# -- the stage graph -----------------------------------------------------------------------------------


def test_duplicate_ref_ids() -> None:
    config = pipeline(stages=[stage("1"), stage("2", "1"), stage("1", "2")])
    assert only_error(config) == FieldError("$.stages[2].refId", "duplicate refId '1' (also at $.stages[0])")


def test_a_requisite_that_names_no_stage() -> None:
    config = pipeline(stages=[stage("1"), stage("2", "1", "7")])
    assert only_error(config) == FieldError("$.stages[1].requisiteStageRefIds[1]", "no stage has refId '7'")


@pytest.mark.parametrize(
    ("requisites", "path", "message"),
    [
        ("1", "$.stages[1].requisiteStageRefIds", "must be a list of refIds"),
        ({"1": True}, "$.stages[1].requisiteStageRefIds", "must be a list of refIds"),
        (["1", None], "$.stages[1].requisiteStageRefIds[1]", "must be a string (a refId)"),
        ([["1"]], "$.stages[1].requisiteStageRefIds[0]", "must be a string (a refId)"),
        ([True], "$.stages[1].requisiteStageRefIds[0]", "must be a string (a refId)"),
    ],
)
def test_requisites_must_be_a_list_of_strings(requisites: object, path: str, message: str) -> None:
    config = pipeline(stages=[stage("1"), {"refId": "2", "type": "wait", "requisiteStageRefIds": requisites}])
    assert only_error(config) == FieldError(path, message)


def test_integer_ref_ids_are_read_as_text_like_jackson_does() -> None:
    config = pipeline(
        stages=[{"refId": 1, "type": "wait"}, {"refId": 2, "type": "wait", "requisiteStageRefIds": [1]}]
    )
    assert validate_pipeline(config) == []


def test_a_bad_ref_id_value() -> None:
    config = pipeline(stages=[{"refId": {"x": 1}, "type": "wait"}, stage("2")])
    assert only_error(config) == FieldError("$.stages[0].refId", "must be a non-empty string")


def test_a_stage_without_ref_id_among_stages_with_ref_ids() -> None:
    config = pipeline(stages=[stage("1"), {"type": "wait"}])
    assert only_error(config) == FieldError("$.stages[1].refId", "is required when other stages have a refId")


def test_a_cycle_names_the_ref_ids_on_it_in_pipeline_order() -> None:
    config = pipeline(
        stages=[stage("0"), stage("a", "0", "c"), stage("b", "a"), stage("c", "b"), stage("d", "c")]
    )
    assert only_error(config) == FieldError(
        "$.stages[1].requisiteStageRefIds",
        "stages wait for each other in a cycle: 'a' -> 'c' -> 'b' -> 'a' (a -> b: a waits for b)",
    )


def test_a_stage_waiting_for_itself_is_a_cycle() -> None:
    config = pipeline(stages=[stage("1", "1")])
    error = only_error(config)
    assert error.path == "$.stages[0].requisiteStageRefIds"
    assert "'1' -> '1'" in error.message


def test_two_separate_cycles_are_both_reported() -> None:
    config = pipeline(stages=[stage("1", "2"), stage("2", "1"), stage("3", "4"), stage("4", "3")])
    assert paths(validate_pipeline(config)) == [
        "$.stages[0].requisiteStageRefIds",
        "$.stages[2].requisiteStageRefIds",
    ]


def test_find_cycles_handles_long_chains_without_recursion() -> None:
    edges = {str(i): [str(i - 1)] for i in range(1, 5000)}
    edges["0"] = ["4999"]
    (cycle,) = find_cycles(edges)
    assert len(cycle) == 5000


def test_a_linear_pipeline_ignores_requisites_that_orca_would_overwrite() -> None:
    # Without any refId Orca chains the stages itself, so stale requisites do not matter.
    config = pipeline(stages=[{"type": "wait"}, {"type": "wait", "requisiteStageRefIds": ["nope"]}])
    assert validate_pipeline(config) == []


def test_templated_pipeline_stages_are_not_checked_as_a_graph() -> None:
    config = pipeline(
        type="templatedPipeline",
        schema="v2",
        stages=[{"refId": "x", "type": "wait", "inject": {"after": ["t1"]}, "requisiteStageRefIds": ["t1"]}],
    )
    assert validate_pipeline(config) == []


# -- parameters, triggers, notifications --------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "path", "message"),
    [
        ({"name": "x"}, "$.parameterConfig", "must be a list"),
        (["x"], "$.parameterConfig[0]", "must be an object"),
        ([{"label": "no name"}], "$.parameterConfig[0].name", "is required"),
        ([{"name": " "}], "$.parameterConfig[0].name", "is required"),
        (
            [{"name": "env"}, {"name": "tag"}, {"name": "env"}],
            "$.parameterConfig[2].name",
            "duplicate parameter name 'env' (also at $.parameterConfig[0])",
        ),
        (
            [{"name": "env", "options": "a,b"}],
            "$.parameterConfig[0].options",
            "must be a list of {value} objects",
        ),
        (
            [{"name": "env", "options": ["a"]}],
            "$.parameterConfig[0].options[0]",
            "must be an object with a value",
        ),
        (
            [{"name": "env", "options": [{"label": "a"}]}],
            "$.parameterConfig[0].options[0]",
            "must be an object with a value",
        ),
        (
            [
                {
                    "name": "env",
                    "required": True,
                    "hasOptions": True,
                    "default": "dev",
                    "options": [{"value": "staging"}, {"value": "prod"}],
                }
            ],
            "$.parameterConfig[0].default",
            "'dev' is not one of the options (staging, prod)",
        ),
    ],
)
def test_parameter_config(params: object, path: str, message: str) -> None:
    assert only_error(pipeline(parameterConfig=params)) == FieldError(path, message)


def test_parameter_defaults_that_are_fine() -> None:
    params = [
        # Not required: Deck lets the default be anything.
        {"name": "a", "hasOptions": True, "default": "z", "options": [{"value": "x"}]},
        # Required without a default: the value comes at start time.
        {"name": "b", "required": True, "hasOptions": True, "default": "", "options": [{"value": "x"}]},
        # Option values compare as text.
        {"name": "c", "required": True, "hasOptions": True, "default": "3", "options": [{"value": 3}]},
        {"name": "d", "required": True},
    ]
    assert validate_pipeline(pipeline(parameterConfig=params, triggers=None, notifications=None)) == []


@pytest.mark.parametrize(
    ("triggers", "path", "message"),
    [
        ({"type": "cron"}, "$.triggers", "must be a list"),
        ([{"type": "cron"}, "webhook"], "$.triggers[1]", "must be an object"),
        ([{"enabled": True, "source": "x"}], "$.triggers[0].type", "is required"),
        ([{"type": ""}], "$.triggers[0].type", "is required"),
    ],
)
def test_triggers(triggers: object, path: str, message: str) -> None:
    assert only_error(pipeline(triggers=triggers)) == FieldError(path, message)


@pytest.mark.parametrize(
    ("notifications", "path", "message"),
    [
        ("slack", "$.notifications", "must be a list"),
        ([None], "$.notifications[0]", "must be an object"),
        ([{"address": "#x"}], "$.notifications[0].type", "is required"),
        (
            [{"type": "slack", "when": "pipeline.failed"}],
            "$.notifications[0].when",
            "must be a list of event names",
        ),
        ([{"type": "slack", "when": [1]}], "$.notifications[0].when", "must be a list of event names"),
    ],
)
def test_notifications(notifications: object, path: str, message: str) -> None:
    assert only_error(pipeline(notifications=notifications)) == FieldError(path, message)


def test_stage_notifications_are_checked_too() -> None:
    config = pipeline(stages=[stage("1", notifications=[{"when": ["stage.failed"]}])])
    assert only_error(config) == FieldError("$.stages[0].notifications[0].type", "is required")


# -- Gennaker's additions: finally, locks, retry ------------------------------------------------------


def test_finally_must_be_a_list_of_stages() -> None:
    assert only_error(pipeline(**{"finally": {"type": "wait"}})) == FieldError(
        "$.finally", "must be a list of stages"
    )
    assert validate_pipeline(pipeline(**{"finally": None})) == []
    assert only_error(pipeline(**{"finally": [{"name": "cleanup"}]})) == FieldError(
        "$.finally[0].type", "is required"
    )


def test_finally_stage_types_are_looked_up_like_main_stages() -> None:
    config = pipeline(stages=[stage("1")], **{"finally": [stage("f", type="cleanup")]})
    assert only_error(config, known_stage_type=known) == FieldError(
        "$.finally[0].type", "unknown stage type 'cleanup'"
    )


def test_ref_ids_are_unique_across_main_and_finally_stages() -> None:
    config = pipeline(stages=[stage("1"), stage("2", "1")], **{"finally": [stage("2")]})
    assert only_error(config) == FieldError("$.finally[0].refId", "duplicate refId '2' (also at $.stages[1])")


def test_finally_stages_may_only_wait_for_finally_stages() -> None:
    config = pipeline(stages=[stage("1")], **{"finally": [stage("f1"), stage("f2", "f1", "1")]})
    assert only_error(config) == FieldError(
        "$.finally[1].requisiteStageRefIds[1]",
        "'1' is a main stage; finally stages may only wait for finally stages",
    )


def test_main_stages_cannot_wait_for_finally_stages() -> None:
    config = pipeline(stages=[stage("1"), stage("2", "f1")], **{"finally": [stage("f1")]})
    assert only_error(config) == FieldError(
        "$.stages[1].requisiteStageRefIds[0]",
        "'f1' is a finally stage; main stages cannot wait for finally stages",
    )


def test_a_cycle_among_finally_stages() -> None:
    config = pipeline(stages=[stage("1")], **{"finally": [stage("f1", "f2"), stage("f2", "f1")]})
    error = only_error(config)
    assert error.path == "$.finally[0].requisiteStageRefIds"
    assert "'f1' -> 'f2' -> 'f1'" in error.message


def test_linear_main_and_linear_finally_blocks_do_not_clash() -> None:
    config = pipeline(
        stages=[{"type": "wait"}, {"type": "wait"}], **{"finally": [{"type": "wait"}, {"type": "fail"}]}
    )
    assert validate_pipeline(config) == []


@pytest.mark.parametrize(
    ("locks", "path", "message"),
    [
        ({"name": "db"}, "$.locks", "must be a list"),
        (["db"], "$.locks[0]", "must be an object"),
        ([{"mode": "oldest_first"}], "$.locks[0].name", "is required (a non-empty string)"),
        ([{"name": ""}], "$.locks[0].name", "is required (a non-empty string)"),
        ([{"name": 5}], "$.locks[0].name", "is required (a non-empty string)"),
        ([{"name": "db", "mode": "fifo"}], "$.locks[0].mode", "must be one of oldest_first, newest_first"),
        ([{"name": "db"}, {"name": "db"}], "$.locks[1].name", "duplicate lock 'db' (also at $.locks[0])"),
    ],
)
def test_locks(locks: object, path: str, message: str) -> None:
    assert only_error(pipeline(locks=locks)) == FieldError(path, message)


def test_lock_specs_fill_in_the_default_mode() -> None:
    config = pipeline(locks=[{"name": "a"}, {"name": "b", "mode": "newest_first"}])
    assert lock_specs(config) == [
        {"name": "a", "mode": "oldest_first"},
        {"name": "b", "mode": "newest_first"},
    ]
    assert lock_specs(pipeline()) == []


@pytest.mark.parametrize(
    ("retry", "path", "message"),
    [
        (3, "$.stages[0].retry", "must be an object {maxAttempts, backoffSeconds}"),
        ({}, "$.stages[0].retry.maxAttempts", "must be an integer >= 1"),
        ({"maxAttempts": 0}, "$.stages[0].retry.maxAttempts", "must be an integer >= 1"),
        ({"maxAttempts": 2.5}, "$.stages[0].retry.maxAttempts", "must be an integer >= 1"),
        ({"maxAttempts": True}, "$.stages[0].retry.maxAttempts", "must be an integer >= 1"),
        ({"maxAttempts": "3"}, "$.stages[0].retry.maxAttempts", "must be an integer >= 1"),
        (
            {"maxAttempts": 3, "backoffSeconds": -1},
            "$.stages[0].retry.backoffSeconds",
            "must be a number >= 0",
        ),
        (
            {"maxAttempts": 3, "backoffSeconds": "5"},
            "$.stages[0].retry.backoffSeconds",
            "must be a number >= 0",
        ),
        (
            {"maxAttempts": 3, "backoffSeconds": float("inf")},
            "$.stages[0].retry.backoffSeconds",
            "must be a number >= 0",
        ),
    ],
)
def test_retry(retry: object, path: str, message: str) -> None:
    assert only_error(pipeline(stages=[stage("1", retry=retry)])) == FieldError(path, message)


def test_valid_retries() -> None:
    stages = [
        stage("1", retry={"maxAttempts": 1}),
        stage("2", "1", retry={"maxAttempts": 5, "backoffSeconds": 0}),
        stage("3", "2", retry={"maxAttempts": 2, "backoffSeconds": 1.5}),
    ]
    assert (
        validate_pipeline(pipeline(stages=stages, **{"finally": [stage("f", retry={"maxAttempts": 3})]}))
        == []
    )


def test_finally_stage_retry_is_checked() -> None:
    config = pipeline(**{"finally": [stage("f", retry={"maxAttempts": 0})]})
    assert only_error(config) == FieldError("$.finally[0].retry.maxAttempts", "must be an integer >= 1")


# -- linear refIds ------------------------------------------------------------------------------------


def test_linear_ref_ids_start_at_zero_like_orca() -> None:
    config = pipeline(stages=[{"type": "wait", "name": "a"}, {"type": "wait", "name": "b"}, {"type": "wait"}])
    out = assign_linear_ref_ids(config)
    assert [(s["refId"], s["requisiteStageRefIds"]) for s in out["stages"]] == [
        ("0", []),
        ("1", ["0"]),
        ("2", ["1"]),
    ]
    assert out["stages"][0] == {"type": "wait", "name": "a", "refId": "0", "requisiteStageRefIds": []}


def test_linear_ref_ids_return_a_copy() -> None:
    config = pipeline(stages=[{"type": "wait"}], **{"finally": [{"type": "wait"}]})
    before = copy.deepcopy(config)
    out = assign_linear_ref_ids(config)
    assert config == before
    assert out is not config and out["stages"][0] is not config["stages"][0]


def test_linear_ref_ids_overwrite_requisites_like_orca() -> None:
    out = assign_linear_ref_ids(
        pipeline(stages=[{"type": "wait", "requisiteStageRefIds": ["x"]}, {"type": "wait"}])
    )
    assert out["stages"][0]["requisiteStageRefIds"] == []


def test_finally_gets_its_own_prefixed_linear_ref_ids() -> None:
    config = pipeline(
        stages=[stage("a"), stage("b", "a")], **{"finally": [{"type": "wait"}, {"type": "fail"}]}
    )
    out = assign_linear_ref_ids(config)
    assert out["stages"] == config["stages"]
    assert [(s["refId"], s["requisiteStageRefIds"]) for s in out["finally"]] == [
        (f"{FINALLY_REF_PREFIX}0", []),
        (f"{FINALLY_REF_PREFIX}1", [f"{FINALLY_REF_PREFIX}0"]),
    ]


def test_blocks_with_any_ref_id_are_left_alone() -> None:
    config = pipeline(stages=[{"type": "wait"}, stage("x")], **{"finally": [stage("f"), {"type": "wait"}]})
    assert assign_linear_ref_ids(config) == config


@pytest.mark.parametrize("stages", [[], None, "x", [{"type": "wait"}, "junk"]])
def test_malformed_stage_lists_are_left_alone(stages: object) -> None:
    config = pipeline(stages=stages)
    assert assign_linear_ref_ids(config) == config
