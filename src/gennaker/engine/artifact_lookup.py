"""Finding artifacts from where a stage stands (Orca's ArtifactUtils): the artifacts it can see,
the artifact bound to an expected-artifact id, and every artifact an execution emitted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.context_view import StageContext
from gennaker.model.artifacts import with_match_account
from gennaker.model.execution import Execution, Stage

Json = dict[str, Any]


def _flatten(values: list[Any]) -> list[Json]:
    out: list[Json] = []
    for value in values:
        for item in value if isinstance(value, list) else []:
            if isinstance(item, Mapping):
                out.append(dict(item))
    return out


def stage_artifacts(execution: Execution, stage: Stage) -> list[Json]:
    """Every artifact visible from ``stage``: its own ``artifacts``, its ancestors' outputs
    (nearest first), then the trigger's (Orca's getArtifacts, the optional artifacts of a deploy)."""
    values = StageContext(execution, stage).get_all("artifacts")
    values.append(execution.trigger.get("artifacts"))
    return _flatten(values)


def resolved_expected_artifacts(execution: Execution, stage: Stage) -> list[Json]:
    """Every resolved expected artifact visible from ``stage``, nearest first, the trigger's last."""
    values = StageContext(execution, stage).get_all("resolvedExpectedArtifacts")
    values.append(execution.trigger.get("resolvedExpectedArtifacts"))
    return _flatten(values)


def bound_artifact_for_id(execution: Execution, stage: Stage, artifact_id: str | None) -> Json | None:
    """The artifact bound to expected artifact ``artifact_id`` as seen from ``stage`` (None when
    no resolved expected artifact has that id), Orca's getBoundArtifactForId."""
    if not artifact_id:
        return None
    for entry in resolved_expected_artifacts(execution, stage):
        if entry.get("id") == artifact_id:
            return with_match_account(entry)
    return None


def execution_artifacts(execution: Execution) -> list[Json]:
    """Every artifact an execution emitted: its stages' ``outputs.artifacts``, later stages first,
    then its trigger's (Orca's getAllArtifacts, what ``usePriorArtifact`` draws from)."""
    emitted: list[Json] = []
    for stage in execution.stages:
        emitted.extend(_flatten([stage.outputs.get("artifacts")]))
    emitted.reverse()
    emitted.extend(_flatten([execution.trigger.get("artifacts")]))
    return emitted
