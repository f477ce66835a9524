"""``deployManifest`` (Orca's DeployManifestStage): resolve the manifests (text or artifact) and
the required artifacts, deploy them through the kubernetes provider, promote the outputs, wait for
stability, then the traffic-management rollout: the other ReplicaSets of each deployed
ReplicaSet's cluster are disabled (redblack/bluegreen), disabled then deleted (highlander), or
left alone (none)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, SyntheticStageSpec, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.providers.protocol import OperationError
from gennaker.stages._common import failed, new_attempt
from gennaker.stages.cloud.support import BadStage, submit
from gennaker.stages.manifest.support import (
    manifest_provider,
    required_artifacts,
    stage_manifests,
    visible_artifacts,
)

OLD_REPLICA_SETS = "trafficManagement.previousReplicaSets"


def promoted(result: Mapping[str, Any]) -> dict[str, Any]:
    """Orca's PromoteManifestKatoOutputsTask: ``outputs.*`` and ``artifacts``."""
    return {
        "outputs.manifestNamesByNamespace": result.get("manifestNamesByNamespace") or {},
        "outputs.manifests": result.get("manifests") or [],
        "outputs.createdArtifacts": result.get("createdArtifacts") or [],
        "outputs.boundArtifacts": result.get("boundArtifacts") or [],
        "artifacts": result.get("createdArtifacts") or [],
    }


def _traffic(ctx: Mapping[str, Any]) -> tuple[bool, list[str], bool, str]:
    raw = ctx.get("trafficManagement")
    traffic: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    raw_options = traffic.get("options")
    options: Mapping[str, Any] = raw_options if isinstance(raw_options, Mapping) else {}
    enabled = traffic.get("enabled") is True
    services = [str(s) for s in options.get("services") or []] if enabled else []
    enable_traffic = options.get("enableTraffic", True) is not False if enabled else True
    return enabled, services, enable_traffic, str(options.get("strategy") or "none").lower()


class DeployManifestTask(BaseTask):
    """Resolves the manifests and artifacts, submits ``deployManifest``, promotes its outputs."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """One idempotent deploy operation for this stage attempt."""
        try:
            provider, reader, account = manifest_provider(run)
            manifests = stage_manifests(run)
            required = required_artifacts(run)
        except BadStage as exc:
            return failed(str(exc))
        enabled, services, enable_traffic, strategy = _traffic(run.context)
        moniker = run.context.get("moniker") if isinstance(run.context.get("moniker"), Mapping) else {}
        description = {
            **{k: v for k, v in run.context.items() if k not in ("manifests", "kato.tasks")},
            "source": "text",
            "manifests": manifests,
            "requiredArtifacts": required,
            "optionalArtifacts": visible_artifacts(run),
            "enableTraffic": enable_traffic,
            "services": services,
            "strategy": strategy if enabled else None,
            "moniker": {"app": run.execution.application, **dict(moniker or {})},
            "account": account,
            "cloudProvider": provider.id,
        }
        record, context = await submit(run, provider, account, "deployManifest", description)
        if record.status != "SUCCEEDED" or record.result is None:
            return failed(record.error or "deployManifest failed", context)
        outputs = promoted(record.result)
        context.update(outputs)
        if enabled and strategy in ("redblack", "bluegreen", "highlander"):
            try:
                context[OLD_REPLICA_SETS] = self._previous(reader, account, record.result, run)
            except OperationError as exc:
                return failed(str(exc), context)
        return TaskResult.succeeded(context, outputs)

    @staticmethod
    def _previous(reader: Any, account: str, result: Mapping[str, Any], run: TaskRun) -> list[dict[str, Any]]:
        """The other ReplicaSets of each deployed ReplicaSet's cluster, with what the rollout needs."""
        found: list[dict[str, Any]] = []
        for manifest in result.get("manifests") or []:
            if str(manifest.get("kind", "")).lower() != "replicaset":
                continue
            meta = manifest.get("metadata") or {}
            notes = meta.get("annotations") or {}
            cluster = notes.get("moniker.spinnaker.io/cluster")
            app = notes.get("moniker.spinnaker.io/application") or run.execution.application
            location = str(meta.get("namespace") or "")
            for other in reader.cluster_manifests(account, location, "replicaSet", app, cluster):
                if other["name"] == f"replicaSet {meta.get('name')}":
                    continue
                live_status = other["manifest"].get("status") or {}
                ready = min(
                    int(live_status.get("readyReplicas") or 0), int(live_status.get("availableReplicas") or 0)
                )
                found.append(
                    {
                        "manifestName": other["name"],
                        "location": location,
                        "stable": other["status"]["stable"]["state"],
                        "failed": other["status"]["failed"]["state"],
                        "ready": ready,
                    }
                )
        return found


class DeployManifestStage(BaseStage):
    """deployManifest -> waitForManifestToStabilize, then the traffic rollout's stages."""

    type = "deployManifest"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """Deploy (with its outputs promoted), then wait for stability."""
        new_attempt(stage)
        return [
            TaskSpec("deployManifest", "deployManifestTask"),
            TaskSpec("waitForManifestToStabilize", "waitForManifestToStabilize"),
        ]

    def after_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Disable (redblack/bluegreen) or disable and delete (highlander) the old ReplicaSets."""
        enabled, _, _, strategy = _traffic(stage.context)
        if not enabled or strategy not in ("redblack", "bluegreen", "highlander"):
            return []
        specs: list[SyntheticStageSpec] = []
        for old in stage.context.get(OLD_REPLICA_SETS) or []:
            base = {
                "account": stage.context.get("account"),
                "app": stage.context.get("moniker", {}).get("app")
                if isinstance(stage.context.get("moniker"), Mapping)
                else None,
                "cloudProvider": "kubernetes",
                "manifestName": old["manifestName"],
                "location": old["location"],
            }
            name = old["manifestName"]
            if strategy == "highlander":
                specs.append(SyntheticStageSpec("disableManifest", f"Disable {name}", dict(base)))
                specs.append(
                    SyntheticStageSpec(
                        "deleteManifest", f"Delete {name}", {**base, "options": {"cascading": True}}
                    )
                )
            elif not old["stable"] and not old["failed"] and not old["ready"]:
                specs.append(
                    SyntheticStageSpec(
                        "deleteManifest", f"Delete {name}", {**base, "options": {"cascading": True}}
                    )
                )
            else:
                specs.append(SyntheticStageSpec("disableManifest", f"Disable {name}", dict(base)))
        return specs

    def prepare_for_restart(self, stage: Stage) -> None:
        """A restart deploys again."""
        for key in ("kato.tasks", "kato.last.task.id", OLD_REPLICA_SETS):
            stage.context.pop(key, None)


def register(registry: Registry, settings: Any) -> None:
    """Add deployManifest and its tasks."""
    from gennaker.stages.manifest.wait_stable import WaitForManifestStableTask

    registry.add_task("deployManifestTask", DeployManifestTask())
    registry.add_task("waitForManifestToStabilize", WaitForManifestStableTask())
    registry.add_stage(DeployManifestStage())
