"""``deploy`` (Orca's ParallelDeployStage), ``createServerGroup`` and ``cloneServerGroup``.

``deploy`` plans one ``createServerGroup`` child per entry of ``clusters`` (or its ``cluster``, or
its own flat context), named "Deploy in <region>". Each child runs determineSourceServerGroup ->
createServerGroup -> monitorDeploy -> waitForUpInstances, and its strategy (``strategy``) adds its
stages. The image comes from the cluster's ``imageId``/``amiName``, else from the
``deploymentDetails`` of an upstream bake or findImage matching the provider and region (Orca's
DeploymentDetailsAware).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, SyntheticStageSpec, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.stages._common import failed, new_attempt
from gennaker.stages.cloud.health_providers import DetermineHealthProvidersTask
from gennaker.stages.cloud.strategies import problem_of, strategy_for
from gennaker.stages.cloud.strategies.rollback_on_failure import rollback_stages
from gennaker.stages.cloud.support import (
    BadStage,
    cached_server_groups,
    cluster_of,
    deploy_server_groups,
    outcome,
    provider_of,
    region_of,
    regions_of,
    submit,
)
from gennaker.stages.cloud.waits import WaitForUpInstancesTask

_CLUSTER_KEYS = ("clusters", "cluster")


def _clusters(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    clusters = context.get("clusters")
    if isinstance(clusters, list):
        return [dict(c) for c in clusters if isinstance(c, Mapping)]
    if isinstance(context.get("cluster"), Mapping):
        return [dict(context["cluster"])]
    return [{k: v for k, v in context.items() if k not in _CLUSTER_KEYS}]


class DeployStage(BaseStage):
    """``deploy``: one createServerGroup per cluster, in parallel."""

    type = "deploy"

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """A child per cluster: the deploy context minus clusters, plus the cluster's fields."""
        shared = {k: v for k, v in stage.context.items() if k not in _CLUSTER_KEYS}
        specs = []
        for cluster in _clusters(stage.context):
            regions = regions_of(cluster) or ["local"]
            account = cluster.get("account") or cluster.get("credentials")
            context = {**shared, **cluster, "cluster": cluster, "type": "createServerGroup"}
            if account:
                context["account"] = account
            context.setdefault("region", regions[0])
            context["name"] = f"Deploy in {regions[0]}"
            specs.append(SyntheticStageSpec("createServerGroup", context["name"], context, chained=False))
        return specs


def _image(run: TaskRun, provider_id: str, region: str) -> dict[str, Any]:
    """The image keys of the description: explicit ones win, else the upstream deploymentDetails."""
    ctx = run.context
    for key in ("imageId", "amiName", "imageName"):
        if ctx.get(key):
            return {
                "imageId": ctx.get("imageId") or ctx.get(key),
                "imageName": ctx.get("imageName") or ctx.get("amiName"),
            }
    details = ctx.get("deploymentDetails")
    if isinstance(details, list):
        for entry in details:
            if not isinstance(entry, Mapping):
                continue
            provider = entry.get("cloudProvider") or entry.get("cloudProviderType")
            location = entry.get("region") or entry.get("zone")
            if provider in (None, provider_id) and location in (None, region, "global"):
                image_id = entry.get("imageId") or entry.get("ami")
                if image_id:
                    return {"imageId": image_id, "imageName": entry.get("imageName") or entry.get("amiName")}
    return {}


class DetermineSourceServerGroupTask(BaseTask):
    """``source``: the explicit one, else the newest (preferring enabled) server group of the
    cluster in the region; ``{}`` when there is none."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Look the cluster up in the cache."""
        try:
            provider, account = provider_of(run)
            region = region_of(run, provider, account)
        except BadStage as exc:
            return failed(str(exc))
        explicit = run.context.get("source")
        if isinstance(explicit, Mapping) and (explicit.get("serverGroupName") or explicit.get("asgName")):
            return TaskResult.succeeded({"source": dict(explicit)})
        cluster = cluster_of(run.context)
        groups = cached_server_groups(run, provider, account, cluster=cluster, region=region)
        groups.sort(key=lambda g: (not g.get("disabled"), g.get("createdTime") or 0))
        if not groups:
            return TaskResult.succeeded({"source": {}})
        chosen = groups[-1]
        source = {
            "asgName": chosen["name"],
            "serverGroupName": chosen["name"],
            "account": account,
            "region": region,
            "useSourceCapacity": bool(run.context.get("useSourceCapacity")),
        }
        return TaskResult.succeeded({"source": source})


class CreateServerGroupTask(BaseTask):
    """Submits ``createServerGroup`` (or ``cloneServerGroup``) to the provider."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Build the description and run the operation under this attempt's id."""
        try:
            provider, account = provider_of(run)
            region = region_of(run, provider, account)
        except BadStage as exc:
            return failed(str(exc))
        operation = "cloneServerGroup" if run.stage.type == "cloneServerGroup" else "createServerGroup"
        skipped = ("kato.tasks", "kato.last.task.id", "exception", "stageAttemptId", "deploymentDetails")
        description = {k: v for k, v in run.context.items() if k not in skipped}
        description.update(_image(run, provider.id, region))
        description.update(account=account, credentials=account, region=region)
        source = run.context.get("source")
        if isinstance(source, Mapping) and source.get("useSourceCapacity") and source.get("serverGroupName"):
            current = next(
                (
                    g
                    for g in cached_server_groups(run, provider, account)
                    if g["name"] == source["serverGroupName"]
                ),
                None,
            )
            if current is not None:
                description["capacity"] = dict(current["capacity"])
        if operation == "cloneServerGroup" and not (
            isinstance(source, Mapping) and source.get("serverGroupName")
        ):
            return failed("cloneServerGroup needs source.serverGroupName (the server group to copy)")
        if operation == "createServerGroup" and not description.get("imageId"):
            return failed(
                f"No image found for {region}. Make sure an upstream stage (e.g. bake, find image) supplies "
                "deploymentDetails for cloudProvider " + provider.id + ", or set imageId on the cluster"
            )
        record, context = await submit(run, provider, account, operation, description)
        context["notification.type"] = (
            "createdeploy" if operation == "createServerGroup" else "createcopylastasg"
        )
        if record.result:
            names = record.result.get("serverGroupNameByRegion") or {}
            context["deploy.server.groups"] = deploy_server_groups(
                region, [names[region]] if region in names else []
            )
            context["serverGroupName"] = names.get(region)
            context["capacity"] = (record.result.get("deployments") or [{}])[0].get(
                "capacity"
            ) or run.context.get("capacity")
        return outcome(record, context)


class MonitorOperationTask(BaseTask):
    """Orca's monitorKatoTask: the last operation of the stage has completed (it ran in the
    submit task; this reads its record, so a crash between the two loses nothing)."""

    pure = True

    async def execute(self, run: TaskRun) -> TaskResult:
        """SUCCEEDED when the recorded operation completed, TERMINAL when it failed."""
        tasks = run.stage.context.get("kato.tasks") or []
        last = tasks[-1] if tasks else None
        if not isinstance(last, Mapping):
            return TaskResult.succeeded()
        status = last.get("status") or {}
        if status.get("failed"):
            return failed(str((last.get("exception") or {}).get("message") or status.get("status")))
        if status.get("completed"):
            return TaskResult.succeeded()
        return TaskResult.running()


class CreateServerGroupStage(BaseStage):
    """``createServerGroup`` / ``cloneServerGroup`` with its strategy's stages."""

    def __init__(self, type_name: str) -> None:
        self.type = type_name

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """Source, create, monitor, wait for up instances (a restart creates anew)."""
        new_attempt(stage)
        if isinstance(stage.context.get("cluster"), Mapping):
            for key, value in stage.context["cluster"].items():  # Orca flattens a nested cluster
                stage.context.setdefault(key, value)
        strategy = strategy_for(stage.context.get("strategy"))
        if strategy is None or problem_of(stage):
            return [TaskSpec("checkStrategy", "strategyNotAvailable")]
        found = [
            TaskSpec("determineSourceServerGroup", "determineSourceServerGroup"),
            TaskSpec("determineHealthProviders", "determineHealthProviders"),
        ]
        if strategy.replaces_basic_steps:
            return found
        create = "cloneServerGroup" if self.type == "cloneServerGroup" else "createServerGroup"
        return [
            *found,
            TaskSpec(create, "createServerGroupTask"),
            TaskSpec("monitorDeploy", "monitorOperation"),
            TaskSpec("forceCacheRefresh", "serverGroupCacheForceRefresh"),
            TaskSpec("waitForUpInstances", "waitForUpInstances"),
        ]

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """The strategy's before-stages."""
        strategy = strategy_for(stage.context.get("strategy"))
        if strategy is None or problem_of(stage):
            return []
        return strategy.before_stages(stage)

    def after_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """The strategy's after-stages (planned once the new server group is up)."""
        strategy = strategy_for(stage.context.get("strategy"))
        return strategy.after_stages(stage) if strategy else []

    def on_failure_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """The rollback (``rollback.onFailure``), then the strategy's own on-failure stages."""
        strategy = strategy_for(stage.context.get("strategy"))
        if strategy is None:
            return []
        return [*rollback_stages(stage, strategy.name), *strategy.on_failure_stages(stage)]

    def prepare_for_restart(self, stage: Stage) -> None:
        """A restart creates a new server group."""
        for key in ("kato.tasks", "kato.last.task.id", "deploy.server.groups", "source"):
            stage.context.pop(key, None)


class StrategyNotAvailableTask(BaseTask):
    """Fails a deploy whose strategy is not offered or is badly configured."""

    pure = True

    async def execute(self, run: TaskRun) -> TaskResult:
        """Say what is wrong with the strategy's fields, or which strategies there are."""
        return failed(problem_of(run.stage) or f"strategy {run.context.get('strategy')!r} is not available")


def register(registry: Registry, settings: Any) -> None:
    """Add deploy, createServerGroup and cloneServerGroup."""
    registry.add_task("determineSourceServerGroup", DetermineSourceServerGroupTask())
    registry.add_task("createServerGroupTask", CreateServerGroupTask())
    registry.add_task("monitorOperation", MonitorOperationTask())
    registry.add_task("strategyNotAvailable", StrategyNotAvailableTask())
    registry.add_task("waitForUpInstances", WaitForUpInstancesTask())
    registry.add_task("determineHealthProviders", DetermineHealthProvidersTask())
    registry.add_stage(DeployStage())
    registry.add_stage(CreateServerGroupStage("createServerGroup"))
    registry.add_stage(CreateServerGroupStage("cloneServerGroup"))
