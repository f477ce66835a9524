"""``redblack`` (Orca's RedBlackStrategy; blue/green): the new server group comes up next to the
old one, then the old ones are disabled, the new one keeping all traffic; the old ones stay
(disabled, optionally scaled to zero) for a fast rollback.

After-stages, only when the deploy found a source server group:

| # | stage (name) | when | context |
|---|---|---|---|
| 1 | shrinkCluster ("shrinkCluster") | maxRemainingAsgs > 0 | shrinkToSize = maxRemainingAsgs, allowDeleteActive, retainLargerOverNewer false |
| 2 | wait ("Wait Before Disable") | delayBeforeCleanup (or delayBeforeDisableSec) > 0 | waitTime |
| 3 | disableCluster ("disableCluster") | always | remainingEnabledServerGroups 1, preferLargerOverNewer false |
| 4 | wait ("Wait Before Scale Down") | scaleDown and delayBeforeScaleDownSec > 0 | waitTime |
| 5 | scaleDownCluster ("scaleDown") | scaleDown | remainingFullSizeServerGroups 1, allowScaleDownActive, preferLargerOverNewer false |
"""

from __future__ import annotations

from gennaker.engine.contracts import SyntheticStageSpec
from gennaker.model.execution import Stage
from gennaker.stages._common import as_bool, as_int
from gennaker.stages.cloud.strategies.base import (
    NoSteps,
    base_context,
    delay_before_cleanup,
    seconds,
    source_of,
    wait_stage,
)


class RedBlackStrategy(NoSteps):
    """Shrink, (wait), disable the older ones, (wait), (scale them down)."""

    name = "redblack"

    def after_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """The table above."""
        if source_of(stage) is None:
            return []
        ctx = stage.context
        base = base_context(stage)
        stages: list[SyntheticStageSpec] = []
        remaining = as_int(ctx.get("maxRemainingAsgs"))
        if remaining is not None and remaining > 0:
            shrink = {
                **base,
                "shrinkToSize": remaining,
                "allowDeleteActive": as_bool(ctx.get("allowDeleteActive"), False),
                "retainLargerOverNewer": False,
            }
            stages.append(SyntheticStageSpec("shrinkCluster", "shrinkCluster", shrink))
        delay = delay_before_cleanup(ctx)
        if delay:
            stages.append(wait_stage("Wait Before Disable", delay))
        disable = {**base, "remainingEnabledServerGroups": 1, "preferLargerOverNewer": False}
        stages.append(SyntheticStageSpec("disableCluster", "disableCluster", disable))
        if as_bool(ctx.get("scaleDown"), False):
            scale_delay = seconds(ctx.get("delayBeforeScaleDownSec"))
            if scale_delay:
                stages.append(wait_stage("Wait Before Scale Down", scale_delay))
            scale_down = {
                **base,
                "allowScaleDownActive": as_bool(ctx.get("allowScaleDownActive"), False),
                "remainingFullSizeServerGroups": 1,
                "preferLargerOverNewer": False,
            }
            stages.append(SyntheticStageSpec("scaleDownCluster", "scaleDown", scale_down))
        return stages
