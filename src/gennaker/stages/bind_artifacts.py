"""The ``bindProducedArtifacts`` task (Orca's BindProducedArtifactsTask), shared by stages that
produce artifacts (bakeManifest, runJob, deployManifest...): the stage's ``expectedArtifacts`` are
bound to the artifacts it can see (its own ``artifacts`` first, then its ancestors', then the
trigger's), and the bound artifacts become the stage's ``artifacts`` and
``resolvedExpectedArtifacts`` outputs, which later stages look up by id."""

from __future__ import annotations

from typing import Any

from gennaker.engine.artifact_lookup import stage_artifacts
from gennaker.engine.contracts import BaseTask, TaskResult, TaskRun
from gennaker.engine.registry import Registry
from gennaker.errors import InvalidInput
from gennaker.model.artifacts import ArtifactResolver

TASK_NAME = "bindProducedArtifacts"


class BindProducedArtifactsTask(BaseTask):
    """Binds the stage's expected artifacts; TERMINAL naming each that nothing matched."""

    pure = True

    async def execute(self, run: TaskRun) -> TaskResult:
        """Resolve against the visible artifacts (the first match wins; defaults apply)."""
        expected = run.context.get("expectedArtifacts")
        if not isinstance(expected, list) or not expected:
            return TaskResult.succeeded()
        resolver = ArtifactResolver(
            stage_artifacts(run.execution, run.stage),
            require_unique=False,
            path=f"stage {run.stage.ref_id} expectedArtifacts",
        )
        try:
            result = resolver.resolve([e for e in expected if isinstance(e, dict)])
        except InvalidInput as exc:
            return TaskResult.terminal(exc.message)
        values: dict[str, Any] = {"artifacts": result.artifacts, "resolvedExpectedArtifacts": result.expected}
        return TaskResult.succeeded(values, values)


def register(registry: Registry, settings: Any) -> None:
    """Add the task."""
    registry.add_task(TASK_NAME, BindProducedArtifactsTask())
