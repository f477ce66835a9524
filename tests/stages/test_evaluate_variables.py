"""``evaluateVariables``: outputs key -> value, the source kept for restarts, problems reported."""

from __future__ import annotations

from typing import Any

from gennaker.model.status import ExecutionStatus as S
from gennaker.stages.evaluate_variables import keep_source, source_of
from tests.stages.conftest import Harness


def variables(ref: str, items: list[dict[str, Any]], **context: Any) -> dict[str, Any]:
    return {"refId": ref, "type": "evaluateVariables", "name": "Vars", "variables": items, **context}


def test_outputs_are_published_for_later_stages(harness: Harness) -> None:
    execution = harness.start(
        [
            variables(
                "1",
                [{"key": "region", "value": "eu-west-1", "description": "where"}, {"key": "n", "value": 3}],
            ),
            {"refId": "2", "requisiteStageRefIds": ["1"], "type": "wait", "waitTime": 1},
        ]
    )
    harness.run()
    done = harness.get(execution.id)
    stage = done.stage_by_ref_id("1")
    assert done.status == S.SUCCEEDED
    assert stage is not None and stage.outputs == {"region": "eu-west-1", "n": 3}
    assert stage.context["region"] == "eu-west-1"
    assert stage.context["variables"][0] == {"key": "region", "value": "eu-west-1", "description": "where"}


def test_missing_key_fails_with_its_position(harness: Harness) -> None:
    execution = harness.start([variables("1", [{"key": "a", "value": 1}, {"value": 2}])])
    harness.run()
    stage = harness.stage(execution.id, "1")
    assert stage.status == S.TERMINAL
    assert stage.context["exception"]["details"]["errors"] == ["variables[1].key is missing"]


def test_restart_puts_the_expressions_back(harness: Harness) -> None:
    execution = harness.start(
        [variables("1", [{"key": "who", "value": "${trigger.parameters.x}"}])],
        parameterConfig=[{"name": "x", "default": "p1"}],
        spelEvaluator="v4",
    )
    harness.run()
    stage = harness.stage(execution.id, "1")
    assert stage.context["variables"][0]["sourceValue"] == "{trigger.parameters.x}"
    with harness.services.db.transaction() as conn:  # as if an earlier evaluation had frozen a value
        stored = harness.services.executions.load(conn, execution.id)
        stored.stages[0].context["variables"][0]["value"] = "stale"
        harness.services.executions.save(conn, stored)
    harness.services.operations.restart_stage(execution.id, stage.id, user="carol")
    harness.run()
    again = harness.stage(execution.id, "1")
    assert again.status == S.SUCCEEDED
    assert again.context["variables"][0]["value"] == "p1"
    assert again.outputs["who"] == "p1"


def test_source_is_exact_even_with_literal_braces() -> None:
    plain = keep_source({"key": "a", "value": "${a}-x"})
    assert plain["sourceValue"] == "{a}-x" and "sourceValueBase64" not in plain
    assert source_of(plain) == "${a}-x"
    tricky = keep_source({"key": "b", "value": '{"env": "${env}"}'})
    assert tricky["sourceValue"] == '{"env": "{env}"}'
    assert source_of(tricky) == '{"env": "${env}"}'
    assert keep_source({"key": "c", "value": "no expression"}) == {"key": "c", "value": "no expression"}


def test_v4_evaluates_in_order(harness: Harness) -> None:
    execution = harness.start(
        [
            variables("1", [{"key": "a", "value": "${1 + 1}"}, {"key": "b", "value": "${a * 10}"}]),
            {"refId": "2", "requisiteStageRefIds": ["1"], "type": "wait", "waitTime": "${b}"},
        ],
        spelEvaluator="v4",
    )
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.SUCCEEDED
    assert done.stage_by_ref_id("1").outputs == {"a": 2, "b": 20}  # type: ignore[union-attr]
    wait = done.stage_by_ref_id("2")
    assert wait is not None and wait.end_time - wait.start_time == 20_000  # type: ignore[operator]
