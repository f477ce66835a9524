"""What every deploy strategy shares: the protocol a strategy implements (Orca's Strategy beans),
the context of cleanup stages (Orca's CleanupConfig), and the source server group the deploy's
``determineSourceServerGroup`` found."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from gennaker.engine.contracts import SyntheticStageSpec
from gennaker.model.execution import Stage
from gennaker.stages._common import as_number
from gennaker.stages.cloud.support import cluster_of


class Strategy(Protocol):
    """What a deploy strategy contributes to a createServerGroup/cloneServerGroup stage."""

    #: The ``strategy`` value that selects it (matched case-insensitively).
    name: str
    #: True when the strategy replaces create + wait (Orca's custom strategy).
    replaces_basic_steps: bool

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Stages before the server group is created (may also adjust the stage's context)."""
        ...

    def after_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Stages after the new server group is up."""
        ...

    def on_failure_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Stages when the deploy fails (after any rollback)."""
        ...


class NoSteps:
    """A strategy that adds nothing (the defaults the others override)."""

    name = ""
    replaces_basic_steps = False

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Nothing."""
        return []

    def after_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Nothing."""
        return []

    def on_failure_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Nothing."""
        return []


def location_of(stage: Stage) -> str | None:
    """The region the deploy acted in: its ``deploy.server.groups`` key, else its ``region``."""
    ctx = stage.context
    groups = ctx.get("deploy.server.groups")
    if isinstance(groups, Mapping) and groups:
        return str(next(iter(groups)))
    region = ctx.get("region")
    return str(region) if region else None


def account_of_stage(stage: Stage) -> Any:
    """The deploy's account (``credentials``, ``account`` or the one it reported)."""
    ctx = stage.context
    return ctx.get("credentials") or ctx.get("account") or ctx.get("deploy.account.name")


def base_context(stage: Stage, *, health: bool = True) -> dict[str, Any]:
    """The context of cleanup stages (Orca's CleanupConfig.toContext): location, provider,
    cluster, credentials, moniker; plus interestingHealthProviderNames when the deploy set it and
    the strategy passes it on (red/black and highlander do, rolling red/black does not)."""
    ctx = stage.context
    cluster = cluster_of(ctx)
    moniker = ctx.get("moniker") if isinstance(ctx.get("moniker"), Mapping) else None
    base: dict[str, Any] = {
        "region": location_of(stage),
        "cloudProvider": ctx.get("cloudProvider") or "aws",
        "cluster": cluster,
        "credentials": account_of_stage(stage),
        "moniker": dict(moniker) if moniker else {"app": ctx.get("application"), "cluster": cluster},
    }
    if health and ctx.get("interestingHealthProviderNames") is not None:
        base["interestingHealthProviderNames"] = ctx["interestingHealthProviderNames"]
    return base


def source_of(stage: Stage) -> dict[str, Any] | None:
    """The source server group (``source`` from determineSourceServerGroup) as Orca's
    ResizeStrategy.Source: region, serverGroupName, credentials, cloudProvider; None without one."""
    source = stage.context.get("source")
    if not isinstance(source, Mapping):
        return None
    name = source.get("serverGroupName") or source.get("asgName")
    if not name:
        return None
    return {
        "region": source.get("region") or location_of(stage),
        "serverGroupName": str(name),
        "credentials": account_of_stage(stage),
        "cloudProvider": stage.context.get("cloudProvider") or "aws",
    }


def new_server_group(stage: Stage) -> str | None:
    """The server group this deploy created (``deploy.server.groups``), if any."""
    groups = stage.context.get("deploy.server.groups")
    if isinstance(groups, Mapping):
        for names in groups.values():
            if isinstance(names, list) and names:
                return str(names[0])
    return None


def seconds(value: Any) -> float:
    """A delay in seconds from a number or a numeric string (0 for anything else)."""
    number = as_number(value)
    return number if number is not None and number > 0 else 0.0


def wait_stage(name: str, wait_seconds: float) -> SyntheticStageSpec:
    """A ``wait`` stage of ``wait_seconds``."""
    wait_time: float | int = int(wait_seconds) if float(wait_seconds).is_integer() else wait_seconds
    return SyntheticStageSpec("wait", name, {"waitTime": wait_time})


def delay_before_cleanup(ctx: Mapping[str, Any]) -> float:
    """``delayBeforeCleanup``, else the deprecated ``delayBeforeDisableSec``."""
    return seconds(ctx.get("delayBeforeCleanup")) or seconds(ctx.get("delayBeforeDisableSec"))
