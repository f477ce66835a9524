"""Which server group a stage acts on (Orca's TargetServerGroup resolution, reference §4.3):
``serverGroupName``/``asgName`` (static), or ``target`` = current_asg_dynamic (newest),
ancestor_asg_dynamic (previous), oldest_asg_dynamic, largest_asg_dynamic or fail, among the
cluster's server groups in the region that have a createdTime."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gennaker.engine.contracts import BaseTask, TaskResult, TaskRun
from gennaker.stages._common import failed
from gennaker.stages.cloud.support import BadStage, cluster_of, fresh_server_groups, provider_of, region_of

_ALIASES = {
    "current": "current",
    "newest": "current",
    "previous": "previous",
    "ancestor": "previous",
    "oldest": "oldest",
    "largest": "largest",
    "fail": "fail",
}


def target_kind(value: Any) -> str | None:
    """``current``/``previous``/``oldest``/``largest``/``fail`` from Orca's target spellings."""
    text = str(value or "").strip().lower()
    for suffix in ("_asg_dynamic", "_asg"):
        text = text.removesuffix(suffix)
    return _ALIASES.get(text)


def pick(
    groups: Sequence[Mapping[str, Any]], kind: str, *, only_enabled: bool = False
) -> Mapping[str, Any] | str:
    """The target among ``groups``, or a message saying why there is none."""
    candidates = [
        g for g in groups if g.get("createdTime") is not None and (not only_enabled or not g.get("disabled"))
    ]
    candidates.sort(key=lambda g: int(g["createdTime"]), reverse=True)
    if not candidates:
        return "no server group in the cluster"
    if kind == "current":
        return candidates[0]
    if kind == "previous":
        return candidates[1] if len(candidates) > 1 else "the cluster has no previous server group"
    if kind == "oldest":
        return candidates[-1] if len(candidates) > 1 else "the cluster has only one server group"
    if kind == "largest":
        return max(candidates, key=lambda g: (len(g.get("instances") or []), int(g["createdTime"])))
    return candidates[0] if len(candidates) == 1 else "More than one target found"


class DetermineTargetServerGroupTask(BaseTask):
    """Resolves the stage's target into ``serverGroupName``, ``region`` and ``deploy.server.groups``."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Static names are checked to exist; dynamic targets are looked up in the cluster."""
        ctx = run.context
        try:
            provider, account = provider_of(run)
            region = region_of(run, provider, account)
        except BadStage as exc:
            return failed(str(exc))
        name = ctx.get("serverGroupName") or ctx.get("asgName")
        groups = await fresh_server_groups(run, provider, account, region=region)
        if not name and isinstance(ctx.get("asgs"), list) and ctx["asgs"]:
            first = ctx["asgs"][0]
            name = (
                first.get("serverGroupName") or first.get("asgName") if isinstance(first, Mapping) else None
            )
        if name:
            found = next((g for g in groups if g["name"] == name), None)
            if found is None and run.stage.type != "destroyServerGroup":
                return failed(f"server group {name!r} does not exist in {account}/{region}")
        else:
            kind = target_kind(ctx.get("target"))
            if kind is None:
                return failed(
                    "give serverGroupName, or target (current_asg_dynamic, ancestor_asg_dynamic, "
                    f"oldest_asg_dynamic) with cluster (got target {ctx.get('target')!r})"
                )
            cluster = cluster_of(ctx)
            if not cluster:
                return failed("a dynamic target needs cluster (or moniker.cluster)")
            chosen = pick([g for g in groups if g.get("cluster") == cluster], kind)
            if isinstance(chosen, str):
                return failed(
                    f"no {ctx.get('target')} target in cluster {cluster} ({account}/{region}): {chosen}"
                )
            name = str(chosen["name"])
        context = {
            "serverGroupName": name,
            "asgName": name,
            "region": region,
            "credentials": account,
            "deploy.server.groups": {region: [name]},
            "deploy.account.name": account,
        }
        return TaskResult.succeeded(context)
