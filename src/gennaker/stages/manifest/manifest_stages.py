"""The manifest stages that act on existing resources (Orca's Delete/Scale/Patch/UndoRollout/
RollingRestart/Enable/Disable ManifestStage and FindArtifactsFromResourceStage): resolve the
target (static ``manifestName`` or a dynamic one by cluster and criteria), submit the operation,
promote its outputs, wait for stability where Orca does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.providers.protocol import OperationError
from gennaker.stages._common import as_bool, failed, new_attempt
from gennaker.stages.cloud.support import BadStage, submit
from gennaker.stages.manifest.deploy_manifest import promoted
from gennaker.stages.manifest.support import (
    manifest_provider,
    required_artifacts,
    stage_manifests,
    visible_artifacts,
)


class ResolveTargetManifestTask(BaseTask):
    """A dynamic target (``cluster`` + ``criteria``) becomes ``manifestName``; label-selector
    deletes need none."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Look the target up (live) or check the static one is named."""
        ctx = run.context
        if ctx.get("manifestName") and str(ctx.get("mode") or "static") != "dynamic":
            return TaskResult.succeeded({})
        if isinstance(ctx.get("labelSelectors"), Mapping) and ctx["labelSelectors"].get("selectors"):
            return TaskResult.succeeded({})
        cluster, criteria = ctx.get("cluster"), ctx.get("criteria")
        if not cluster or not criteria:
            return failed("manifestName is required, or cluster and criteria for a dynamic target")
        try:
            _, reader, account = manifest_provider(run)
            kind = str(ctx.get("kind") or str(cluster).split(" ", 1)[0])
            app = str(ctx.get("app") or run.execution.application)
            target = reader.dynamic_target(
                account, str(ctx.get("location") or ""), kind, app, str(cluster), str(criteria)
            )
        except (BadStage, OperationError) as exc:
            return failed(str(exc))
        if target is None and as_bool(ctx.get("allowNothingSelected"), False):
            return TaskResult.succeeded({"nothingSelected": True})
        if target is None:
            return failed(
                f"no {kind} of cluster {cluster!r} in {ctx.get('location')} matches criteria {criteria!r}"
            )
        return TaskResult.succeeded({"manifestName": target["name"], "location": target["location"]})


class _OperationTask(BaseTask):
    operation = ""

    def description(self, run: TaskRun) -> dict[str, Any]:
        return dict(run.context)

    async def execute(self, run: TaskRun) -> TaskResult:
        """Submit the operation under this stage attempt's id; promote its outputs."""
        if run.context.get("nothingSelected") is True:
            return TaskResult.succeeded({"outputs.manifestNamesByNamespace": {}})
        try:
            provider, _, account = manifest_provider(run)
            description = {**self.description(run), "account": account}
        except BadStage as exc:
            return failed(str(exc))
        description.pop("kato.tasks", None)
        record, context = await submit(run, provider, account, self.operation, description)
        if record.status != "SUCCEEDED" or record.result is None:
            return failed(record.error or f"{self.operation} failed", context)
        outputs = promoted(record.result)
        context.update(outputs)
        context.setdefault("manifest.name", run.context.get("manifestName"))
        context.setdefault("manifest.location", run.context.get("location"))
        return TaskResult.succeeded(context, outputs)


class DeleteManifestTask(_OperationTask):
    """deleteManifest (cascading, grace period, label selectors)."""

    operation = "deleteManifest"


class ScaleManifestTask(_OperationTask):
    """scaleManifest to ``replicas``."""

    operation = "scaleManifest"


class PatchManifestTask(_OperationTask):
    """patchManifest with the patch from text or an artifact and the bound artifacts."""

    operation = "patchManifest"

    def description(self, run: TaskRun) -> dict[str, Any]:
        ctx = dict(run.context)
        source = ctx.get("source")
        if source == "artifact" or (source is None and ctx.get("manifestArtifactId")):
            ctx["patchBody"] = stage_manifests(run, key="patchBody")
        ctx["requiredArtifacts"] = required_artifacts(run)
        ctx["allArtifacts"] = visible_artifacts(run)
        return ctx


class UndoRolloutManifestTask(_OperationTask):
    """undoRolloutManifest by ``numRevisionsBack`` or to ``revision``."""

    operation = "undoRolloutManifest"


class RollingRestartManifestTask(_OperationTask):
    """rollingRestartManifest."""

    operation = "rollingRestartManifest"


class EnableManifestTask(_OperationTask):
    """enableManifest: the load balancers' labels back on the workload and its pods."""

    operation = "enableManifest"


class DisableManifestTask(_OperationTask):
    """disableManifest: the load balancers' labels off the workload and its pods."""

    operation = "disableManifest"


class FindArtifactsFromResourceTask(BaseTask):
    """The live resource and the artifacts it references (its images, configMaps, secrets)."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Read the target live."""
        if run.context.get("nothingSelected") is True:
            return TaskResult.succeeded({}, {"artifacts": []})
        try:
            _, reader, account = manifest_provider(run)
            view = reader.manifest(
                account, str(run.context.get("location") or ""), str(run.context.get("manifestName"))
            )
        except (BadStage, OperationError) as exc:
            return failed(str(exc))
        if view is None:
            return failed(
                f"{run.context.get('manifestName')} does not exist in {run.context.get('location')}"
            )
        outputs = {"manifest": view["manifest"], "artifacts": view["artifacts"]}
        return TaskResult.succeeded(outputs, outputs)


class ManifestStage(BaseStage):
    """A stage of tasks over one target; restarts act again."""

    def __init__(self, type_name: str, tasks: list[tuple[str, str]]) -> None:
        self.type = type_name
        self._tasks = tasks

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """The stage's tasks, under a new attempt id."""
        new_attempt(stage)
        return [TaskSpec(*t) for t in self._tasks]

    def prepare_for_restart(self, stage: Stage) -> None:
        """A restart acts again."""
        for key in ("kato.tasks", "kato.last.task.id"):
            stage.context.pop(key, None)


RESOLVE = ("resolveTargetManifest", "resolveTargetManifest")
WAIT = ("waitForManifestToStabilize", "waitForManifestToStabilize")


def register(registry: Registry, settings: Any) -> None:
    """Add the manifest stages that act on existing resources."""
    registry.add_task("resolveTargetManifest", ResolveTargetManifestTask())
    tasks: dict[str, BaseTask] = {
        "deleteManifestTask": DeleteManifestTask(),
        "scaleManifestTask": ScaleManifestTask(),
        "patchManifestTask": PatchManifestTask(),
        "undoRolloutManifestTask": UndoRolloutManifestTask(),
        "rollingRestartManifestTask": RollingRestartManifestTask(),
        "enableManifestTask": EnableManifestTask(),
        "disableManifestTask": DisableManifestTask(),
        "findArtifactsFromResourceTask": FindArtifactsFromResourceTask(),
    }
    for name, task in tasks.items():
        registry.add_task(name, task)
    stages = {
        "deleteManifest": [RESOLVE, ("deleteManifest", "deleteManifestTask")],
        "scaleManifest": [RESOLVE, ("scaleManifest", "scaleManifestTask"), WAIT],
        "patchManifest": [RESOLVE, ("patchManifest", "patchManifestTask"), WAIT],
        "undoRolloutManifest": [RESOLVE, ("undoRolloutManifest", "undoRolloutManifestTask"), WAIT],
        "rollingRestartManifest": [RESOLVE, ("rollingRestartManifest", "rollingRestartManifestTask"), WAIT],
        "enableManifest": [RESOLVE, ("enableManifest", "enableManifestTask"), WAIT],
        "disableManifest": [RESOLVE, ("disableManifest", "disableManifestTask"), WAIT],
        "findArtifactsFromResource": [
            RESOLVE,
            ("findArtifactsFromResource", "findArtifactsFromResourceTask"),
        ],
    }
    for type_name, stage_tasks in stages.items():
        registry.add_stage(ManifestStage(type_name, stage_tasks))
