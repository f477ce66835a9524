"""``upsertLoadBalancer`` and ``deleteLoadBalancer`` (Orca's names). The description is the stage
context itself, or each entry of Deck's ``loadBalancers`` list; ``name`` defaults to
``loadBalancerName`` or ``<clusterName>-frontend`` as in Orca's UpsertLoadBalancerTask."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.stages._common import failed, new_attempt
from gennaker.stages.cloud.support import BadStage, provider_of, region_of, submit


def _descriptions(ctx: Mapping[str, Any]) -> list[dict[str, Any]]:
    entries = ctx.get("loadBalancers")
    if isinstance(entries, list) and entries and all(isinstance(e, Mapping) for e in entries):
        shared = {k: v for k, v in ctx.items() if k != "loadBalancers"}
        return [{**shared, **e} for e in entries]
    return [dict(ctx)]


class UpsertLoadBalancerTask(BaseTask):
    """Create or update each load balancer the stage describes."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """One operation per description."""
        results: dict[str, Any] = {}
        context: dict[str, Any] = {}
        for index, description in enumerate(_descriptions(run.context)):
            try:
                provider, account = provider_of(run, description)
                region = region_of(run, provider, account, description)
            except BadStage as exc:
                return failed(str(exc))
            name = description.get("name") or description.get("loadBalancerName")
            if not name and not isinstance(run.context.get("loadBalancers"), list):
                name = run.stage.name  # the stage's own "name" is the load balancer's (Orca's context)
            if not name and description.get("clusterName"):
                name = f"{description['clusterName']}-frontend"
            description.update(name=name, region=region, credentials=account)
            record, context = await submit(
                run, provider, account, "upsertLoadBalancer", description, index=index
            )
            run.stage.context.update(context)
            if record.status != "SUCCEEDED":
                return failed(record.error or "upsertLoadBalancer failed", context)
            for where, lb in ((record.result or {}).get("loadBalancers") or {}).items():
                results[where] = lb
        first: dict[str, Any] = next(iter(results.values()), {})
        extra = {
            "loadBalancers": results,
            "dnsName": first.get("dnsName"),
            "targets": [{"name": v.get("name"), "region": k} for k, v in results.items()],
        }
        return TaskResult.succeeded({**context, **extra})


class DeleteLoadBalancerTask(BaseTask):
    """Delete the named load balancer."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """One operation."""
        try:
            provider, account = provider_of(run)
        except BadStage as exc:
            return failed(str(exc))
        name = run.context.get("loadBalancerName") or run.context.get("name")
        if not name:
            return failed("loadBalancerName is required")
        record, context = await submit(
            run, provider, account, "deleteLoadBalancer", {**run.context, "loadBalancerName": name}
        )
        if record.status != "SUCCEEDED":
            return failed(record.error or "deleteLoadBalancer failed", context)
        return TaskResult.succeeded(context)


class LoadBalancerStage(BaseStage):
    """upsertLoadBalancer / deleteLoadBalancer."""

    def __init__(self, type_name: str, task: str) -> None:
        self.type = type_name
        self._task = task

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """The operation, then its monitor."""
        new_attempt(stage)
        return [
            TaskSpec(self.type, self._task),
            TaskSpec("monitorUpsert" if "upsert" in self.type else "monitorDelete", "monitorOperation"),
        ]


def register(registry: Registry, settings: Any) -> None:
    """Add the load balancer stages."""
    registry.add_task("upsertLoadBalancerTask", UpsertLoadBalancerTask())
    registry.add_task("deleteLoadBalancerTask", DeleteLoadBalancerTask())
    registry.add_stage(LoadBalancerStage("upsertLoadBalancer", "upsertLoadBalancerTask"))
    registry.add_stage(LoadBalancerStage("deleteLoadBalancer", "deleteLoadBalancerTask"))
