"""``rollbackCluster`` (Orca's RollbackClusterStage and DetermineRollbackCandidatesTask, reference
§5.7): per region, roll the newest enabled server group of the cluster back to
``originalServerGroup`` when given, else to the next newest one (only enabled ones with
``additionalRollbackContext.onlyEnabledServerGroups``); then one ``rollbackServerGroup`` "Rollback
<region>" per region with a candidate, in order, with "Wait after <region>" between them when
``waitTimeBetweenRegions`` is set.

Orca also consults AWS entity tags (``spinnaker:metadata``) for the image a server group replaced;
providers without them (every one here) use the previous server group, as Orca does without tags.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, SyntheticStageSpec, TaskResult, TaskRun, TaskSpec
from gennaker.engine.graph import parent
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.model.moniker import parse_name
from gennaker.stages._common import as_bool, as_int, failed, new_attempt
from gennaker.stages.cloud.cluster_support import created, locations_of
from gennaker.stages.cloud.support import BadStage, fresh_server_groups, provider_of

#: Context key holding what the rollback children inherit from the rollbackCluster's parent.
_INHERITED = "rollbackInheritedContext"
_PROPAGATED = ("interestingHealthProviderNames", "sourceServerGroupCapacitySnapshot")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def healthy_percentage(capacity: Any, override: Any) -> int:
    """``targetHealthyRollbackPercentage``: the override, else 100 below 10 instances, 90 below 20,
    else 95 (Deck's manual rollback rule)."""
    value = as_int(override)
    if value is not None:
        return value
    desired = as_int(capacity.get("desired")) if isinstance(capacity, Mapping) else None
    if desired is None or desired < 10:
        return 100
    return 90 if desired < 20 else 95


def image_name(group: Mapping[str, Any]) -> Any:
    """The server group's image name (``imageName``, or ``image.imageName``/``image.name``)."""
    image = _mapping(group.get("image"))
    return group.get("imageName") or image.get("imageName") or image.get("name")


def is_enabled(group: Mapping[str, Any]) -> bool:
    """Orca's rule: ``disabled`` absent or false."""
    return not group.get("disabled")


def candidates_in(
    region: str,
    groups: list[dict[str, Any]],
    *,
    original: str | None,
    only_enabled: bool,
    override: Any,
) -> tuple[str, dict[str, Any], dict[str, Any]] | str | None:
    """(rollbackType, rollbackContext, imageToRestore) for one region; None when no rollback is
    possible there (fewer than two server groups, or none enabled); a message when no candidate."""
    here = sorted(
        (g for g in groups if str(g.get("region")).lower() == region.lower()), key=created, reverse=True
    )
    if len(here) < 2 or not any(is_enabled(g) for g in here):
        return None
    enabled = [g for g in here if is_enabled(g)]
    rollback = enabled[0]
    if original:
        restore_name: str = original
        image = next((image_name(g) for g in here if g["name"] == original), None)
    else:
        pool = enabled if only_enabled else here
        previous = next((g for g in pool if g["name"] != rollback["name"]), None)
        if previous is None:
            return f"Could not find a server group to roll back to! (serverGroupName: {rollback['name']})"
        restore_name = str(previous["name"])
        image = image_name(previous)
    context = {
        "rollbackServerGroupName": rollback["name"],
        "restoreServerGroupName": restore_name,
        "targetHealthyRollbackPercentage": healthy_percentage(rollback.get("capacity"), override),
    }
    return "EXPLICIT", context, {"region": region, "image": image, "rollbackMethod": "EXPLICIT"}


class DetermineRollbackCandidatesTask(BaseTask):
    """Chooses what to roll back to in each region."""

    backoff_ms = 15_000
    timeout_ms: int | None = 5 * 60 * 1000

    async def execute(self, run: TaskRun) -> TaskResult:
        """``imagesToRestore`` in the context; ``rollbackTypes`` and ``rollbackContexts`` as outputs."""
        ctx = run.context
        try:
            provider, account = provider_of(run)
        except BadStage as exc:
            return failed(str(exc))
        regions = locations_of({"regions": ctx.get("regions")})
        if not regions:
            return failed("regions is required (the regions of the cluster to roll back)")
        moniker = ctx.get("moniker") if isinstance(ctx.get("moniker"), Mapping) else None
        cluster = moniker.get("cluster") if moniker else None
        if not cluster and ctx.get("serverGroup"):
            cluster = parse_name(str(ctx["serverGroup"])).cluster
        if not cluster:
            return failed("give moniker (with cluster) or serverGroup (a server group of the cluster)")
        groups = await fresh_server_groups(run, provider, account, cluster=str(cluster))
        extra = _mapping(ctx.get("additionalRollbackContext"))
        original = ctx.get("originalServerGroup") if isinstance(ctx.get("originalServerGroup"), str) else None
        images, types, contexts = [], {}, {}
        for region in regions:
            found = candidates_in(
                region,
                groups,
                original=original,
                only_enabled=as_bool(extra.get("onlyEnabledServerGroups"), False),
                override=ctx.get("targetHealthyRollbackPercentage"),
            )
            if found is None:
                continue
            if isinstance(found, str):
                return failed(found)
            kind, context, image = found
            images.append(image)
            types[region] = kind
            contexts[region] = context
        above = parent(run.execution, run.stage)
        inherited = {k: above.context[k] for k in _PROPAGATED if above is not None and k in above.context}
        return TaskResult(
            TaskResult.succeeded().status,
            {"imagesToRestore": images, _INHERITED: inherited},
            {"rollbackTypes": types, "rollbackContexts": contexts},
        )


class RollbackClusterStage(BaseStage):
    """``rollbackCluster``."""

    type = "rollbackCluster"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """determineRollbackCandidates."""
        new_attempt(stage)
        return [TaskSpec("determineRollbackCandidates", "determineRollbackCandidatesTask")]

    def after_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """A rollbackServerGroup per region with a candidate, in the order of ``regions``."""
        ctx = stage.context
        types = stage.outputs.get("rollbackTypes") or {}
        contexts = stage.outputs.get("rollbackContexts") or {}
        extra = _mapping(ctx.get("additionalRollbackContext"))
        inherited = _mapping(ctx.get(_INHERITED))
        regions = [r for r in locations_of({"regions": ctx.get("regions")}) if r in types]
        wait = as_int(ctx.get("waitTimeBetweenRegions"))
        specs = []
        for index, region in enumerate(regions):
            context = {
                "rollbackType": types[region],
                "rollbackContext": {**_mapping(contexts.get(region)), **extra},
                "type": "rollbackServerGroup",
                "region": region,
                "credentials": ctx.get("credentials"),
                "cloudProvider": ctx.get("cloudProvider"),
                **inherited,
            }
            specs.append(SyntheticStageSpec("rollbackServerGroup", f"Rollback {region}", context))
            if wait is not None and index < len(regions) - 1:
                specs.append(SyntheticStageSpec("wait", f"Wait after {region}", {"waitTime": wait}))
        return specs


def register(registry: Registry, settings: Any) -> None:
    """Add rollbackCluster."""
    registry.add_task("determineRollbackCandidatesTask", DetermineRollbackCandidatesTask())
    registry.add_stage(RollbackClusterStage())
