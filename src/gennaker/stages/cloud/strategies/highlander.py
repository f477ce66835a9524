"""``highlander`` (Orca's HighlanderStrategy): there can be only one. After the new server group
is up, ``shrinkCluster`` to 1 with allowDeleteActive: its before-stage ``disableCluster`` takes
every older active server group out of the load balancers (drained first), then every older one
is destroyed. Runs on a first deploy too (then there is nothing to do)."""

from __future__ import annotations

from gennaker.engine.contracts import SyntheticStageSpec
from gennaker.model.execution import Stage
from gennaker.stages.cloud.strategies.base import NoSteps, base_context


class HighlanderStrategy(NoSteps):
    """One ``shrinkCluster`` stage."""

    name = "highlander"

    def after_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """shrinkCluster {shrinkToSize 1, allowDeleteActive, retainLargerOverNewer false}."""
        context = {
            **base_context(stage),
            "shrinkToSize": 1,
            "allowDeleteActive": True,
            "retainLargerOverNewer": False,
        }
        return [SyntheticStageSpec("shrinkCluster", "shrinkCluster", context)]
