"""Expressions as the engine evaluates them: stage context at start and at each task run, stageEnabled
without ${}, the pipeline-start pass, failOnFailedExpressions, and ${outcome} in finally stages."""

from __future__ import annotations

from gennaker.model.status import ExecutionStatus as S
from tests.engine.conftest import Harness
from tests.engine.test_graph_semantics import scripted


def test_context_expressions_see_trigger_parameters_and_upstream_outputs(harness: Harness) -> None:
    execution = harness.start(
        [
            scripted("1", outputs={"image": "api:42"}),
            scripted(
                "2",
                "1",
                target="${parameters.env}-${image}",
                count="${#toInt('3') + 1}",
                first="${#stage('s1')['outputs']['image']}",
                readKeys=["target", "count", "first"],
            ),
        ],
        parameterConfig=[{"name": "env", "default": "staging"}],
        trigger={"parameters": {"env": "prod"}},
    )
    harness.run()
    stage = harness.stage(execution.id, "2")
    assert stage.context["seen"] == {"target": "prod-api:42", "count": 4, "first": "api:42"}
    assert "expressionEvaluationSummary" not in stage.context


def test_stage_enabled_expression_without_braces(harness: Harness) -> None:
    execution = harness.start(
        [
            scripted("1", stageEnabled={"type": "expression", "expression": "parameters.env == 'prod'"}),
            scripted("2", stageEnabled={"type": "expression", "expression": "parameters.env matches 'st.*'"}),
            scripted("3", stageEnabled={"type": "expression", "expression": "'yes'"}),
        ],
        trigger={"parameters": {"env": "staging"}},
    )
    harness.run()
    done = harness.get(execution.id)
    assert [done.stage_by_ref_id(r).status for r in ("1", "2", "3")] == [S.SKIPPED, S.SUCCEEDED, S.SKIPPED]


def test_failed_expression_is_kept_and_summarised(harness: Harness) -> None:
    execution = harness.start([scripted("1", value="${#stage('nope')['context']}", readKeys=["value"])])
    harness.run()
    stage = harness.stage(execution.id, "1")
    assert stage.status == S.SUCCEEDED
    assert stage.context["value"] == "${#stage('nope')['context']}"
    summary = stage.context["expressionEvaluationSummary"]
    entries = summary["#stage('nope')['context']"]
    assert entries[0]["level"] == "ERROR"


def test_fail_on_failed_expressions_fails_the_stage(harness: Harness) -> None:
    execution = harness.start([scripted("1", value="${#stage('nope')}", failOnFailedExpressions=True)])
    harness.run()
    stage = harness.stage(execution.id, "1")
    assert stage.status == S.TERMINAL
    assert any(
        "nope" in e or "Failed to evaluate" in e for e in stage.context["exception"]["details"]["errors"]
    )


def test_finally_stage_sees_outcome_as_expression(harness: Harness) -> None:
    execution = harness.start(
        [scripted("1", result="TERMINAL")],
        **{
            "finally": [
                {"refId": "f", "type": "scripted", "note": "main ended ${outcome}", "readKeys": ["note"]}
            ]
        },
    )
    harness.run()
    assert harness.stage(execution.id, "f").context["seen"] == {"note": "main ended TERMINAL"}


def test_execution_stage_and_task_read_as_java_beans(harness: Harness) -> None:
    """Orca's execution, stage and task are Java objects; kork's SpEL (ReflectivePropertyAccessor)
    finds ``getStatus()`` for ``Status`` too. A public pipeline's precondition reads
    ``#stage('Build')['Status']``; contexts stay maps (their keys are exact)."""
    execution = harness.start(
        [
            {"refId": "1", "type": "scripted", "name": "Build", "outputs": {"image": "api:1"}},
            scripted(
                "2",
                "1",
                indexed="${#stage('Build')['Status'].toString()}",
                dotted="${#stage('Build').Status}",
                listed="${execution.stages[0].Status}",
                task="${#stage('Build').tasks[0].Status}",
                stageName="${#stage('Build').Name}",
                top="${execution.Application}",
                contextKey="${#stage('Build').context.Image ?: 'exact keys'}",
                readKeys=["indexed", "dotted", "listed", "task", "stageName", "top", "contextKey"],
            ),
        ],
        application="shop",
    )
    harness.run()
    assert harness.stage(execution.id, "2").context["seen"] == {
        "indexed": "SUCCEEDED",
        "dotted": "SUCCEEDED",
        "listed": "SUCCEEDED",
        "task": "SUCCEEDED",
        "stageName": "Build",
        "top": "shop",
        "contextKey": "exact keys",
    }
