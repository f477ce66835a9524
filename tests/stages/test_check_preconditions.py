"""``checkPreconditions``: one parallel child per precondition, both types, and each precondition's
own failPipeline."""

from __future__ import annotations

from typing import Any

import pytest

from gennaker.model.status import ExecutionStatus as S
from tests.stages.conftest import Harness


def check(ref: str, *requisites: str, preconditions: list[dict[str, Any]], **context: Any) -> dict[str, Any]:
    return {
        "refId": ref,
        "requisiteStageRefIds": list(requisites),
        "type": "checkPreconditions",
        "name": "Check",
        "preconditions": preconditions,
        **context,
    }


def expression(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "expression", "context": {"expression": text}, **extra}


def stage_status(name: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"type": "stageStatus", "context": {"stageName": name, "stageStatus": status}, **extra}


def wait(ref: str, *requisites: str, name: str | None = None) -> dict[str, Any]:
    return {
        "refId": ref,
        "requisiteStageRefIds": list(requisites),
        "type": "wait",
        "waitTime": 1,
        "name": name or f"wait {ref}",
    }


def children(harness: Harness, execution_id: str, ref: str) -> list[Any]:
    execution = harness.get(execution_id)
    parent = execution.stage_by_ref_id(ref)
    assert parent is not None
    return list(execution.children(parent))


def test_one_parallel_child_per_precondition_and_all_pass(harness: Harness) -> None:
    execution = harness.start(
        [
            wait("1", name="Build"),
            check("2", "1", preconditions=[expression("true"), stage_status("Build", "succeeded")]),
            wait("3", "2"),
        ]
    )
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.SUCCEEDED
    kids = children(harness, execution.id, "2")
    assert [k.name for k in kids] == ["Check precondition (expression)", "Check precondition (stageStatus)"]
    assert all(k.requisite_stage_ref_ids == [] for k in kids)  # parallel
    assert kids[0].context["context"]["expressionResult"] == "true"
    assert kids[0].context["expressionResult"] == "true"
    assert done.stage_by_ref_id("3").status == S.SUCCEEDED  # type: ignore[union-attr]


def test_a_failing_precondition_fails_the_pipeline_by_default(harness: Harness) -> None:
    execution = harness.start(
        [check("1", preconditions=[expression("false"), expression("true")]), wait("2", "1")]
    )
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.TERMINAL
    failed = children(harness, execution.id, "1")[0]
    assert failed.status == S.TERMINAL
    assert failed.context["exception"]["details"]["errors"] == [
        "Precondition failed: expression 'false' evaluated to false"
    ]
    assert done.stage_by_ref_id("1").status == S.TERMINAL  # type: ignore[union-attr]
    assert done.stage_by_ref_id("2").status == S.NOT_STARTED  # type: ignore[union-attr]


def test_missing_expression_defaults_to_false(harness: Harness) -> None:
    execution = harness.start([check("1", preconditions=[{"type": "expression", "context": {}}])])
    harness.run()
    assert children(harness, execution.id, "1")[0].context["expressionResult"] == "false"
    assert harness.get(execution.id).status == S.TERMINAL


def test_fail_pipeline_false_on_a_precondition_only_stops_the_branch(harness: Harness) -> None:
    execution = harness.start(
        [
            check("1", preconditions=[expression("false", failPipeline=False)]),
            wait("2", "1"),
            wait("3"),
        ]
    )
    harness.run()
    done = harness.get(execution.id)
    kid = children(harness, execution.id, "1")[0]
    assert kid.status == S.STOPPED
    assert done.stage_by_ref_id("1").status == S.STOPPED  # type: ignore[union-attr]
    assert done.stage_by_ref_id("2").status == S.NOT_STARTED  # type: ignore[union-attr]
    assert done.stage_by_ref_id("3").status == S.SUCCEEDED  # type: ignore[union-attr]
    assert done.status == S.SUCCEEDED


def test_stage_status_mismatch_and_missing_stage(harness: Harness) -> None:
    # One check per pipeline: a halted child ends its parent at once (§2.5), so a sibling that is
    # still running would be canceled.
    mismatch = harness.start(
        [wait("1", name="Build"), check("2", "1", preconditions=[stage_status("Build", "TERMINAL")])], id="a"
    )
    missing = harness.start(
        [wait("1", name="Build"), check("2", "1", preconditions=[stage_status("Nope", "SUCCEEDED")])], id="b"
    )
    harness.run()
    [mismatched] = children(harness, mismatch.id, "2")
    [absent] = children(harness, missing.id, "2")
    assert mismatched.status == S.TERMINAL and absent.status == S.TERMINAL
    assert mismatched.context["exception"]["details"]["errors"] == [
        "Precondition failed: the status of stage 'Build' was asserted to be TERMINAL, but was actually SUCCEEDED"
    ]
    assert absent.context["exception"]["details"]["errors"] == [
        f"Precondition failed: no stage named 'Nope' in execution {missing.id}"
    ]


def test_unknown_precondition_type_fails_with_a_message(harness: Harness) -> None:
    execution = harness.start(
        [check("1", preconditions=[{"type": "instanceCount", "context": {"expected": 1}}])]
    )
    harness.run()
    kid = children(harness, execution.id, "1")[0]
    assert kid.name == "Check precondition (instanceCount)"
    assert kid.context["exception"]["details"]["errors"] == [
        "Unknown precondition type 'instanceCount'; Gennaker supports expression, stageStatus, clusterSize"
    ]


def test_cluster_size_without_a_cluster_says_so(harness: Harness) -> None:
    execution = harness.start(
        [check("1", preconditions=[{"type": "clusterSize", "context": {"expected": 1}}])]
    )
    harness.run()
    kid = children(harness, execution.id, "1")[0]
    assert kid.context["exception"]["details"]["errors"] == [
        "A clusterSize precondition needs context.cluster"
    ]


def test_expression_precondition_sees_the_pipeline(harness: Harness) -> None:
    execution = harness.start(
        [
            check(
                "1",
                preconditions=[
                    expression("trigger.parameters.go == 'yes'"),
                    expression(
                        "${trigger.parameters.go == 'yes'}"
                    ),  # with ${}: the context pass evaluates it
                ],
            )
        ],
        parameterConfig=[{"name": "go", "default": "yes"}],
    )
    harness.run()
    assert harness.get(execution.id).status == S.SUCCEEDED
    assert [k.context["expressionResult"] for k in children(harness, execution.id, "1")] == ["true", "true"]


def test_expression_that_does_not_evaluate_says_so(harness: Harness) -> None:
    execution = harness.start([check("1", preconditions=[expression("trigger.parameters.nothing.deeper")])])
    harness.run()
    [kid] = children(harness, execution.id, "1")
    assert kid.status == S.TERMINAL
    assert kid.context["exception"]["details"]["errors"][0].startswith(
        "Precondition expression 'trigger.parameters.nothing.deeper' could not be evaluated"
    )


@pytest.mark.parametrize(
    ("text", "param1", "result", "status"),
    [
        ("param1 == 'true'", "true", "true", S.SUCCEEDED),
        ("param1 == 'true'", "false", "false", S.TERMINAL),
        ("param1 == 'true'", None, "false", S.TERMINAL),
        ("param1.xxx() == 'true'", None, "param1.xxx() == 'true'", S.TERMINAL),
        ("trigger.parameters.triggerKey == 'triggerVal'", None, "true", S.SUCCEEDED),
    ],
)
def test_expression_checks_read_the_parent_stage_fields(
    harness: Harness, text: str, param1: str | None, result: str, status: S
) -> None:
    """ExpressionPreconditionTaskSpec "should evaluate expression precondition against stage
    context at execution time": ``param1`` is a field of the checkPreconditions stage, which
    CheckPreconditionsStage.parallelContexts copies into each check; a failed evaluation stores its
    text without ``${ }``."""
    execution = harness.start(
        [check("1", preconditions=[expression(text)], param1=param1, cluster="shop-main")],
        trigger={"type": "manual", "parameters": {"triggerKey": "triggerVal"}},
    )
    harness.run()
    kid = children(harness, execution.id, "1")[0]
    assert kid.status == status
    assert kid.context["context"] == {"expression": text, "expressionResult": result, "cluster": "shop-main"}
    assert kid.context["param1"] == param1 and "preconditions" not in kid.context
