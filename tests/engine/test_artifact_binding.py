"""Artifacts through whole executions: ``usePriorArtifact`` reads the previous execution of the
pipeline, and ``bindProducedArtifacts`` binds a stage's expected artifacts into its outputs, which
a later stage finds by id."""

from __future__ import annotations

from typing import Any

from gennaker.engine.artifact_lookup import bound_artifact_for_id, stage_artifacts
from gennaker.model.status import ExecutionStatus as S
from tests.engine.conftest import Harness

IMAGE = {"type": "docker/image", "name": "reg/app", "version": "7", "reference": "reg/app:7"}


def _expected(**extra: Any) -> dict[str, Any]:
    return {
        "id": "img",
        "displayName": "image",
        "matchArtifact": {"type": "docker/image", "name": "reg/app"},
        **extra,
    }


def test_use_prior_artifact_reads_the_previous_execution(harness: Harness) -> None:
    first = harness.start([{"refId": "1", "type": "noop"}], trigger={"type": "manual", "artifacts": [IMAGE]},
                          expectedArtifacts=[_expected(usePriorArtifact=True)])  # fmt: skip
    harness.run()
    assert harness.get(first.id).status == S.SUCCEEDED
    second = harness.start(
        [{"refId": "1", "type": "noop"}],
        trigger={"type": "docker", "expectedArtifactIds": []},
        expectedArtifacts=[_expected(usePriorArtifact=True)],
    )
    [resolved] = second.trigger["resolvedExpectedArtifacts"]
    assert resolved["boundArtifact"] == IMAGE


def test_bind_produced_artifacts_outputs_are_found_by_later_stages(harness: Harness) -> None:
    produced = {"type": "embedded/base64", "name": "baked", "reference": "eA=="}
    execution = harness.start(
        [
            {
                "refId": "1",
                "type": "bindArtifactsTest",
                "artifacts": [produced],
                "expectedArtifacts": [
                    {"id": "out", "matchArtifact": {"type": "embedded/base64", "name": "baked"}}
                ],
            },
            {"refId": "2", "requisiteStageRefIds": ["1"], "type": "noop"},
        ]
    )
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.SUCCEEDED
    first = done.stage_by_ref_id("1")
    second = done.stage_by_ref_id("2")
    assert first is not None and second is not None
    assert first.outputs["artifacts"] == [produced]
    assert first.outputs["resolvedExpectedArtifacts"][0]["boundArtifact"] == produced
    assert bound_artifact_for_id(done, second, "out") == produced
    assert produced in stage_artifacts(done, second)


def test_bind_produced_artifacts_fails_naming_the_unbound_one(harness: Harness) -> None:
    execution = harness.start(
        [
            {
                "refId": "1",
                "type": "bindArtifactsTest",
                "expectedArtifacts": [
                    {"id": "out", "displayName": "chart", "matchArtifact": {"type": "helm/chart"}}
                ],
            }
        ]
    )
    harness.run()
    stage = harness.stage(execution.id, "1")
    assert stage.status == S.TERMINAL
    assert "Unmatched expected artifact 'chart' could not be resolved" in str(stage.context["exception"])
