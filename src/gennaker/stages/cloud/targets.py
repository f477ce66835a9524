"""Which server group a stage acts on (Orca's TargetServerGroup, TargetServerGroupResolver and
DetermineTargetServerGroupStage, reference §4.3): ``serverGroupName``/``asgName`` (static), or
``target`` = current_asg_dynamic (newest), ancestor_asg_dynamic (previous), oldest_asg_dynamic,
largest_asg_dynamic or fail (and the deprecated static current_asg / ancestor_asg), among the
cluster's server groups in a location that have a createdTime.

``determineTargetServerGroup`` is the synthetic stage Orca puts before the per-location children
of a dynamically targeted stage: it resolves the target in every location into
``targetReferences``, and each child takes the reference of its ``targetLocation``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.graph import ancestors
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.providers.protocol import CloudProvider
from gennaker.stages._common import failed
from gennaker.stages.cloud.cluster_support import locations_of
from gennaker.stages.cloud.support import BadStage, cluster_of, fresh_server_groups, provider_of

_ALIASES = {
    "current": "current",
    "newest": "current",
    "previous": "previous",
    "ancestor": "previous",
    "oldest": "oldest",
    "largest": "largest",
    "fail": "fail",
}
STAGE_TYPE = "determineTargetServerGroup"


def target_kind(value: Any) -> str | None:
    """``current``/``previous``/``oldest``/``largest``/``fail`` from Orca's target spellings."""
    text = str(value or "").strip().lower()
    for suffix in ("_asg_dynamic", "_asg"):
        text = text.removesuffix(suffix)
    return _ALIASES.get(text)


def is_dynamic(ctx: Mapping[str, Any]) -> bool:
    """A ``target`` resolved when the stage runs (``*_asg_dynamic``), not when it is planned."""
    target = str(ctx.get("target") or "").strip().lower()
    return target.endswith("_dynamic") and target_kind(target) is not None


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


def static_name(ctx: Mapping[str, Any]) -> str | None:
    """``serverGroupName``, ``asgName``, or the first of Deck's ``asgs``."""
    name = ctx.get("serverGroupName") or ctx.get("asgName")
    if not name and isinstance(ctx.get("asgs"), list) and ctx["asgs"]:
        first = ctx["asgs"][0]
        if isinstance(first, Mapping):
            name = first.get("serverGroupName") or first.get("asgName")
    return str(name) if name else None


def default_locations(ctx: Mapping[str, Any], provider: CloudProvider, account: str) -> list[str]:
    """The stage's locations, else the account's only region."""
    found = locations_of(ctx)
    if found:
        return found
    acct = next((a for a in provider.accounts() if a.name == account), None)
    if acct is not None and len(acct.regions) == 1:
        return [acct.regions[0]]
    raise BadStage("region (or regions) is required")


def resolve_in(
    ctx: Mapping[str, Any], groups: Sequence[Mapping[str, Any]], account: str, region: str
) -> Mapping[str, Any] | str:
    """Resolve the stage's target among the server groups of one location."""
    name = static_name(ctx)
    kind = target_kind(ctx.get("target"))
    if kind is not None and (is_dynamic(ctx) or not name):
        cluster = cluster_of({k: v for k, v in ctx.items() if k not in ("serverGroupName", "asgName")})
        if not cluster:
            return "a target needs cluster (or moniker.cluster)"
        chosen = pick([g for g in groups if g.get("cluster") == cluster], kind)
        if isinstance(chosen, str):
            return f"Unable to locate {ctx.get('target')} in {account}/{region}/{cluster}: {chosen}"
        return chosen
    if name:
        found = next((g for g in groups if g["name"] == name), None)
        return found if found is not None else f"Unable to locate {name} in {account}/{region}"
    return (
        "give serverGroupName, or target (current_asg_dynamic, ancestor_asg_dynamic, "
        f"oldest_asg_dynamic) with cluster (got target {ctx.get('target')!r})"
    )


def reference(group: Mapping[str, Any], region: str, account: str, provider: str) -> dict[str, Any]:
    """A ``targetReferences`` entry (Orca's serialized TargetServerGroup)."""
    return {
        "name": group["name"],
        "serverGroupName": group["name"],
        "asgName": group["name"],
        "region": region,
        "location": {"type": "REGION", "value": region},
        "credentials": account,
        "account": account,
        "cloudProvider": provider,
        "cluster": group.get("cluster"),
        "moniker": group.get("moniker"),
        "createdTime": group.get("createdTime"),
        "capacity": group.get("capacity"),
        "disabled": group.get("disabled"),
    }


def from_previous_stage(run: TaskRun) -> Mapping[str, Any] | str | None:
    """The reference of this stage's location on the nearest ancestor determineTargetServerGroup
    (None when there is none: the stage resolves its target itself)."""
    dtsg = next(
        (s for s in ancestors(run.execution, run.stage) if s.type == STAGE_TYPE and s is not run.stage),
        None,
    )
    if dtsg is None:
        return None
    refs = [r for r in dtsg.context.get("targetReferences") or [] if isinstance(r, Mapping)]
    if not refs:
        return f"No TargetServerGroups found for stage {run.stage.id}"
    location = run.context.get("targetLocation")
    wanted = location.get("value") if isinstance(location, Mapping) else None
    wanted = wanted or run.context.get("region") or run.context.get("zone") or run.context.get("namespace")
    found = next((r for r in refs if wanted is None or r.get("region") == wanted), None)
    return found if found is not None else f"No targets found on matching any location in [{wanted}]"


class DetermineTargetServerGroupTask(BaseTask):
    """Resolves the target in every location into ``targetReferences``."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """One reference per location, or TERMINAL naming the one that cannot be resolved."""
        try:
            provider, account = provider_of(run)
            regions = default_locations(run.context, provider, account)
        except BadStage as exc:
            return failed(str(exc))
        groups = await fresh_server_groups(run, provider, account)
        refs = []
        for region in regions:
            chosen = resolve_in(
                run.context, [g for g in groups if g.get("region") == region], account, region
            )
            if isinstance(chosen, str):
                return failed(chosen)
            refs.append(reference(chosen, region, account, provider.id))
        return TaskResult.succeeded({"targetReferences": refs})


class ResolveTargetTask(BaseTask):
    """A per-location stage's server group: from determineTargetServerGroup when dynamic, else
    looked up; sets ``serverGroupName``, ``region`` and ``deploy.server.groups``."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Resolve, check it exists (a destroy of a missing server group is done already)."""
        ctx = run.context
        try:
            provider, account = provider_of(run)
            regions = default_locations(ctx, provider, account)
        except BadStage as exc:
            return failed(str(exc))
        region = regions[0]
        chosen: Mapping[str, Any] | str | None = from_previous_stage(run) if is_dynamic(ctx) else None
        if chosen is None:
            groups = await fresh_server_groups(run, provider, account, region=region)
            chosen = resolve_in(ctx, groups, account, region)
            if isinstance(chosen, str) and run.stage.type == "destroyServerGroup" and static_name(ctx):
                chosen = {"name": static_name(ctx)}
        if isinstance(chosen, str):
            return failed(chosen)
        name = str(chosen.get("name") or chosen.get("serverGroupName"))
        region = str(chosen.get("region") or region)
        return TaskResult.succeeded(
            {
                "serverGroupName": name,
                "asgName": name,
                "region": region,
                "credentials": account,
                "deploy.server.groups": {region: [name]},
                "deploy.account.name": account,
            }
        )


class DetermineTargetServerGroupStage(BaseStage):
    """``determineTargetServerGroup``: one task."""

    type = STAGE_TYPE

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """determineTargetServerGroup."""
        return [TaskSpec("determineTargetServerGroup", "determineTargetServerGroupTask")]


def register(registry: Registry, settings: Any) -> None:
    """Add determineTargetServerGroup and the per-location resolution task."""
    registry.add_task("determineTargetServerGroupTask", DetermineTargetServerGroupTask())
    registry.add_task("resolveTargetServerGroup", ResolveTargetTask())
    registry.add_stage(DetermineTargetServerGroupStage())
