"""``bake`` for ``cloudProvider: "local"`` (Rosco's bake as Orca runs it), ``findImage``
(Deck's ``findAmi``) and ``findImageFromTags``.

``bake`` plans one "Bake in <region>" child per region; each child bakes (an operation of the
provider, so a rerun after a crash returns the same image) and records Rosco's keys (``imageId``,
``imageName``, ``ami``, ``previouslyBaked``...); the parent outputs ``deploymentDetails``, one
entry per child, which a downstream deploy picks up by cloud provider and region.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, SyntheticStageSpec, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.providers.protocol import IMAGES, SERVER_GROUPS
from gennaker.stages._common import failed, new_attempt
from gennaker.stages.cloud.support import BadStage, clouddriver, cluster_of, provider_of, regions_of, submit
from gennaker.stages.cloud.targets import pick, target_kind

_DETAIL_KEYS = (
    "ami",
    "amiName",
    "imageId",
    "imageName",
    "amiSuffix",
    "baseLabel",
    "baseOs",
    "refId",
    "storeType",
    "vmType",
    "region",
    "package",
    "cloudProviderType",
    "cloudProvider",
    "baseAmiId",
)


def _is_child(stage: Stage) -> bool:
    return (
        stage.parent_stage_id is not None
        and stage.context.get("type") == "bake"
        and "bakeRegion" in stage.context
    )


class CreateBakeTask(BaseTask):
    """Bakes the package into an image (or finds the image the same content made before)."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Run the provider's bake operation."""
        ctx = run.context
        cloud = ctx.get("cloudProvider") or ctx.get("cloudProviderType")
        if cloud not in (None, "local"):
            return failed(f"Gennaker bakes images for cloudProvider local only (got {cloud!r})")
        try:
            provider, account = provider_of(run, {**ctx, "cloudProvider": "local"})
        except BadStage as exc:
            return failed(str(exc))
        record, context = await submit(run, provider, account, "bake", dict(ctx))
        if record.status != "SUCCEEDED" or not record.result:
            return failed(record.error or "bake failed", context)
        result = record.result
        region = str(ctx["bakeRegion"])
        baked = {
            "status": {"state": "COMPLETED", "result": "SUCCESS"},
            "bakePackageName": result["package"],
            "previouslyBaked": result["previouslyBaked"],
            "ami": result["imageId"],
            "imageId": result["imageId"],
            "imageName": result["imageName"],
            "amiName": result["imageName"],
            "region": region,
            "cloudProvider": "local",
            "cloudProviderType": "local",
            "artifacts": [
                {
                    "type": "local/image",
                    "name": result["imageName"],
                    "reference": result["imageId"],
                    "location": region,
                    "version": result["version"],
                }
            ],
        }
        return TaskResult.succeeded({**context, **baked})


class CompleteParallelBakeTask(BaseTask):
    """The parent's outputs: ``deploymentDetails`` from every child (Orca's CompleteParallelBakeTask)."""

    pure = True

    async def execute(self, run: TaskRun) -> TaskResult:
        """Collect the children's results."""
        details = []
        for child in run.execution.children(run.stage):
            if not _is_child(child):
                continue
            entry = {k: child.context[k] for k in _DETAIL_KEYS if k in child.context}
            entry["package"] = child.context.get("bakePackageName") or child.context.get("package")
            entry["refId"] = run.stage.ref_id
            details.append(entry)
        return TaskResult.succeeded({}, {"deploymentDetails": details})


class BakeStage(BaseStage):
    """``bake``: a child per region, then the parent's deploymentDetails."""

    type = "bake"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """Child: createBake/completedBake; parent: completeParallel."""
        if _is_child(stage):
            new_attempt(stage)
            return [TaskSpec("createBake", "createBakeTask")]
        return [TaskSpec("completeParallel", "completeParallelBakeTask")]

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """One child per region (the context's regions, else ``local``)."""
        if _is_child(stage):
            return []
        regions = regions_of(stage.context) or ["local"]
        shared = {k: v for k, v in stage.context.items() if k not in ("regions", "region")}
        return [
            SyntheticStageSpec(
                "bake",
                f"Bake in {r}",
                {**shared, "type": "bake", "region": r, "bakeRegion": r},
                chained=False,
            )
            for r in regions
        ]


class FindImageTask(BaseTask):
    """``findImage`` (from a cluster's server group) and ``findImageFromTags``."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Look the image up in the cache and output deploymentDetails."""
        ctx = run.context
        try:
            provider, account = provider_of(run)
        except BadStage as exc:
            return failed(str(exc))
        regions = regions_of(ctx) or [
            next((a.regions[0] for a in provider.accounts() if a.name == account), "local")
        ]
        await clouddriver(run).cache.refresh(provider, account)
        details = []
        for region in regions:
            if run.stage.type == "findImageFromTags":
                found = self._by_tags(run, provider.id, account, region)
            else:
                found = self._from_cluster(run, provider.id, account, region)
            if isinstance(found, str):
                return failed(found)
            details.append(
                {
                    "ami": found["imageId"],
                    "imageId": found["imageId"],
                    "imageName": found["imageName"],
                    "amiName": found["imageName"],
                    "cloudProvider": provider.id,
                    "region": region,
                    "refId": run.stage.ref_id,
                    **{k: v for k, v in found.items() if k == "sourceServerGroup"},
                }
            )
        artifacts = [
            {
                "type": f"{provider.id}/image",
                "reference": d["imageId"],
                "name": d["imageName"],
                "location": d["region"],
            }
            for d in details
        ]
        return TaskResult.succeeded(
            {"amiDetails": details, "artifacts": artifacts},
            {"deploymentDetails": details, "inferredRegions": regions},
        )

    @staticmethod
    def _from_cluster(run: TaskRun, cloud: str, account: str, region: str) -> dict[str, Any] | str:
        cluster = cluster_of(run.context)
        groups = [
            g
            for g in clouddriver(run).cache.query(
                SERVER_GROUPS, account=account, region=region, cloud_provider=cloud
            )
            if g.get("cluster") == cluster
        ]
        strategy = str(run.context.get("selectionStrategy") or "NEWEST").lower()
        kind = (
            {"newest": "current", "oldest": "oldest", "largest": "largest", "fail": "fail"}.get(strategy)
            or target_kind(strategy)
            or "current"
        )
        only_enabled = run.context.get("onlyEnabled") is not False
        chosen = pick(groups, kind, only_enabled=only_enabled)
        if isinstance(chosen, str):
            return f"findImage: no image found in cluster {cluster} ({account}/{region}): {chosen}"
        image = chosen.get("image") or {}
        return {
            "imageId": image.get("imageId"),
            "imageName": image.get("imageName"),
            "sourceServerGroup": chosen["name"],
        }

    @staticmethod
    def _by_tags(run: TaskRun, cloud: str, account: str, region: str) -> dict[str, Any] | str:
        package = run.context.get("packageName")
        tags: Mapping[str, Any] = run.context["tags"] if isinstance(run.context.get("tags"), Mapping) else {}
        images = clouddriver(run).cache.query(IMAGES, account=account, cloud_provider=cloud)
        matching = [
            i
            for i in images
            if (not package or (i.get("tags") or {}).get("package") == package)
            and all((i.get("tags") or {}).get(str(k)) == str(v) for k, v in tags.items())
        ]
        matching.sort(key=lambda i: str((i.get("attributes") or {}).get("creationDate") or ""), reverse=True)
        if not matching:
            return f"findImageFromTags: no image of package {package!r} with tags {dict(tags)} in {account}"
        return {"imageId": matching[0]["imageId"], "imageName": matching[0]["imageName"]}


class FindImageStage(BaseStage):
    """findImage / findImageFromTags."""

    def __init__(self, type_name: str, aliases: tuple[str, ...] = ()) -> None:
        self.type = type_name
        self.aliases = aliases

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """One task."""
        return [TaskSpec("findImage", "findImageTask")]


def register(registry: Registry, settings: Any) -> None:
    """Add bake, findImage and findImageFromTags."""
    registry.add_task("createBakeTask", CreateBakeTask())
    registry.add_task("completeParallelBakeTask", CompleteParallelBakeTask())
    registry.add_task("findImageTask", FindImageTask())
    registry.add_stage(BakeStage())
    registry.add_stage(FindImageStage("findImage", ("findAmi", "findImageFromCluster")))
    registry.add_stage(FindImageStage("findImageFromTags"))
