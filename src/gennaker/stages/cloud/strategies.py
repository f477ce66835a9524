"""Deploy strategies: each is a module-level object contributing synthetic stages to a
``createServerGroup``/``cloneServerGroup`` stage (Orca's Strategy beans). The engine knows nothing
of them; the server group stage asks its strategy for before-, after- and on-failure stages.

A strategy gets the stage after its tasks ran (``after_stages``), so it can read the new server
group (``deploy.server.groups``) and the source found by ``determineSourceServerGroup``. Later
strategies (red/black, rolling red/black, custom, monitored) add a class here and a row in
``STRATEGIES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from gennaker.engine.contracts import SyntheticStageSpec
from gennaker.model.execution import Stage
from gennaker.stages.cloud.support import cluster_of


class Strategy(Protocol):
    """What a deploy strategy contributes."""

    #: The ``strategy`` value that selects it (matched case-insensitively).
    name: str
    #: True when the strategy replaces create + wait (Orca's custom strategy).
    replaces_basic_steps: bool

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Stages before the server group is created."""
        ...

    def after_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Stages after the new server group is up."""
        ...

    def on_failure_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Stages when the deploy fails."""
        ...


def base_context(stage: Stage) -> dict[str, Any]:
    """The context of cleanup stages (Orca's CleanupConfig.toContext): location, provider,
    cluster, credentials, moniker; plus interestingHealthProviderNames when the deploy set it."""
    ctx = stage.context
    groups = ctx.get("deploy.server.groups")
    region = next(iter(groups), None) if isinstance(groups, Mapping) and groups else ctx.get("region")
    account = ctx.get("credentials") or ctx.get("account") or ctx.get("deploy.account.name")
    moniker = ctx.get("moniker") if isinstance(ctx.get("moniker"), Mapping) else None
    cluster = cluster_of(ctx)
    base: dict[str, Any] = {
        "region": region,
        "cloudProvider": ctx.get("cloudProvider") or "aws",
        "cluster": cluster,
        "credentials": account,
        "moniker": dict(moniker) if moniker else {"app": ctx.get("application"), "cluster": cluster},
    }
    if "interestingHealthProviderNames" in ctx:
        base["interestingHealthProviderNames"] = ctx["interestingHealthProviderNames"]
    return base


class NoStrategy:
    """``""``/``none``: the new server group takes traffic; older ones are left alone."""

    name = "none"
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


class HighlanderStrategy(NoStrategy):
    """``highlander``: there can be only one. Shrink the cluster to the new server group (its
    before-stage disableCluster disables every older active one first), even on a first deploy."""

    name = "highlander"

    def after_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """One ``shrinkCluster`` stage."""
        context = {
            **base_context(stage),
            "shrinkToSize": 1,
            "allowDeleteActive": True,
            "retainLargerOverNewer": False,
        }
        return [SyntheticStageSpec("shrinkCluster", "shrinkCluster", context)]


STRATEGIES: tuple[Strategy, ...] = (NoStrategy(), HighlanderStrategy())


def strategy_for(value: Any) -> Strategy | None:
    """The strategy named by a stage's ``strategy`` (unknown names and blanks are none, as in
    Orca); None only for names that a later Gennaker will know (so the stage can say so)."""
    text = str(value or "").strip().lower()
    if text in ("", "none"):
        return STRATEGIES[0]
    found = next((s for s in STRATEGIES if s.name == text), None)
    if found is not None:
        return found
    if text in ("redblack", "rollingredblack", "custom", "monitored", "rollingpush", "cfrollingredblack"):
        return None
    return STRATEGIES[0]
