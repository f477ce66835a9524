"""Orca's behaviour at pipeline start and stage start, each case taken from Orca's own tests:
expressions in the trigger (DependentPipelineStarterSpec "should resolve expressions in trigger",
OperationsController.orchestratePipeline), expected artifacts with expressions, and stageEnabled
with an empty expression (OptionalStageSupportSpec)."""

from __future__ import annotations

import pytest

from gennaker.model.status import ExecutionStatus as S
from tests.engine.conftest import Harness
from tests.engine.test_graph_semantics import scripted


def test_parameter_defaults_with_expressions_are_evaluated_into_the_trigger(harness: Harness) -> None:
    """DependentPipelineStarterSpec: a default of ``${2 == 2}`` becomes ``true``, one of
    ``${trigger.type}`` the trigger's type; stages see the evaluated values."""
    execution = harness.start(
        [
            scripted(
                "1", seen_a="${parameters.a}", seen_b="${trigger.parameters.b}", readKeys=["seen_a", "seen_b"]
            )
        ],
        parameterConfig=[{"name": "a", "default": "${2 == 2}"}, {"name": "b", "default": "${trigger.type}"}],
        trigger={"type": "pipeline", "user": "alice"},
    )
    assert execution.trigger["parameters"] == {"a": True, "b": "pipeline"}
    harness.run()
    assert harness.stage(execution.id, "1").context["seen"] == {"seen_a": True, "seen_b": "pipeline"}


def test_trigger_values_that_fail_keep_their_text(harness: Harness) -> None:
    execution = harness.start(
        [scripted("1")],
        parameterConfig=[{"name": "a", "default": "${trigger.nothing.here}"}],
        trigger={"type": "manual", "note": "literal ${ text"},
    )
    assert execution.trigger["parameters"]["a"] == "${trigger.nothing.here}"
    assert execution.trigger["note"] == "literal ${ text"


def test_expected_artifacts_with_expressions_bind_with_the_trigger_parameters(harness: Harness) -> None:
    """A default artifact whose version is ``${parameters.version}`` (and a match field built from
    a parameter) is resolved with the trigger's parameters before binding."""
    expected = [
        {
            "id": "image",
            "displayName": "image",
            "matchArtifact": {"type": "docker/image", "name": "${parameters.repo}"},
            "defaultArtifact": {
                "type": "docker/image",
                "name": "${parameters.repo}",
                "reference": "${parameters.repo}:${parameters.version}",
                "version": "${parameters.version}",
            },
            "useDefaultArtifact": True,
        },
        {
            "id": "chart",
            "matchArtifact": {"type": "helm/chart", "name": "${parameters.chart}"},
            "useDefaultArtifact": False,
        },
    ]
    received = [{"type": "helm/chart", "name": "shop-chart", "version": "1.2.0"}]
    execution = harness.start(
        [scripted("1")],
        expectedArtifacts=expected,
        parameterConfig=[
            {"name": "repo", "default": "registry/shop"},
            {"name": "version", "default": "2.0.1"},
            {"name": "chart", "default": "shop-chart"},
        ],
        trigger={"type": "manual", "artifacts": received},
    )
    resolved = execution.trigger["resolvedExpectedArtifacts"]
    assert [r["boundArtifact"] for r in resolved] == [
        {
            "type": "docker/image",
            "name": "registry/shop",
            "reference": "registry/shop:2.0.1",
            "version": "2.0.1",
        },
        received[0],
    ]
    assert execution.trigger["expectedArtifacts"] == resolved


@pytest.mark.parametrize(
    ("stage_enabled", "status"),
    [
        ({}, S.SUCCEEDED),
        ({"type": "expression"}, S.SUCCEEDED),
        ({"type": "expression", "expression": ""}, S.SUCCEEDED),
        ({"type": "expression", "expression": "   "}, S.SUCCEEDED),
        ({"type": "expression", "expression": None}, S.SUCCEEDED),
        ({"type": "expression", "expression": "parameters.p1 == 'v1'"}, S.SUCCEEDED),
        ({"type": "expression", "expression": "parameters.p1 == 'v2'"}, S.SKIPPED),
        ({"type": "expression", "expression": "true"}, S.SUCCEEDED),
        ({"type": "expression", "expression": "false"}, S.SKIPPED),
        ({"type": "Expression", "expression": "false"}, S.SKIPPED),
        ({"expression": "false"}, S.SUCCEEDED),
    ],
)
def test_stage_enabled_as_optional_stage_support(
    harness: Harness, stage_enabled: dict[str, object], status: S
) -> None:
    """OptionalStageSupportSpec "should support expression-based optionality": a null or blank
    expression (or no ``expression`` type) is not optional; only false-y results skip."""
    execution = harness.start(
        [scripted("1", stageEnabled=stage_enabled)], trigger={"parameters": {"p1": "v1"}}
    )
    harness.run()
    assert harness.stage(execution.id, "1").status == status
