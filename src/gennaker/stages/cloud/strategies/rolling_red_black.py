"""``rollingredblack`` (Orca's RollingRedBlackStrategy): the new server group is created empty and
grown in steps (``targetPercentages``, 100 appended when missing) while the same share of the
source is taken out of the load balancers, so traffic moves by instance count; the source is
pinned (min = desired) meanwhile so nothing scales it in under the moving traffic.

Before: the deploy's ``capacity`` is put aside as ``savedCapacity`` and the server group is created
with 0/0/0 (``useSourceCapacity`` off). After-stages:

| stage (name) | when | what |
|---|---|---|
| determineTargetServerGroup ("Determine Deployed Server Group") | always | the new (newest) server group |
| pinServerGroup ("Pin <source>") | a source exists | source min := its desired |
| per p: resizeServerGroup ("Grow to p% of Desired Size") | always | new group to ceil(p% × source desired), pinned (min = max = desired) below 100 |
| per p: wait ("wait") | delayBeforeCleanup > 0 | |
| per p: pipeline ("Run Validation Pipeline") | pipelineBeforeCleanup.{application, pipelineId} | parameters + deployedServerGroup, sourceServerGroup, percentageComplete |
| per p: disableServerGroup ("Disable p% of Traffic on <source>") | a source exists | desiredPercentage p |
| wait ("Wait Before Scale Down") + scaleDownCluster ("scaleDown") | source and scaleDown | |
| pinServerGroup ("Unpin <source>") | source and not scaleDown | source min back to its original |

On failure: "Unpin <source>" (20 minute timeout). With ``rollback.onFailure`` the deploy also rolls
the cluster back to the source (enable it, then disable the new one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import SyntheticStageSpec
from gennaker.model.execution import Stage
from gennaker.stages._common import as_bool, as_number
from gennaker.stages.cloud.strategies.base import (
    NoSteps,
    base_context,
    delay_before_cleanup,
    location_of,
    new_server_group,
    seconds,
    source_of,
    wait_stage,
)

UNPIN_TIMEOUT_MS = 20 * 60 * 1000


def target_percentages(value: Any) -> list[int] | str:
    """The steps with 100 appended when the last is not 100 (Deck's default is [50, 100]); a
    message naming the bad entry otherwise."""
    if value is None or value == "":
        steps: list[int] = [50, 100]
    elif not isinstance(value, list):
        return f"targetPercentages must be a list of percentages like [25, 50, 100] (got {value!r})"
    else:
        steps = []
        for index, raw in enumerate(value):
            number = as_number(raw)
            if number is None or not number.is_integer() or not 0 < number <= 100:
                return (
                    f"targetPercentages[{index}] must be a whole percentage between 1 and 100 (got {raw!r})"
                )
            steps.append(int(number))
    if any(later <= earlier for earlier, later in zip(steps, steps[1:], strict=False)):
        return f"targetPercentages must increase step by step (got {steps})"
    if not steps or steps[-1] != 100:
        steps.append(100)
    return steps


def _location(region: str | None) -> dict[str, Any]:
    return {"type": "REGION", "value": region}


class RollingRedBlackStrategy(NoSteps):
    """Grow the new server group and shrink the source's share step by step."""

    name = "rollingredblack"

    def problem(self, stage: Stage) -> str | None:
        """A message when targetPercentages or pipelineBeforeCleanup cannot be used."""
        steps = target_percentages(stage.context.get("targetPercentages"))
        if isinstance(steps, str):
            return steps
        validation = stage.context.get("pipelineBeforeCleanup")
        if validation not in (None, {}) and not isinstance(validation, Mapping):
            return "pipelineBeforeCleanup must be an object {application, pipelineId, pipelineParameters}"
        if isinstance(validation, Mapping) and validation.get("pipelineParameters") is not None:
            if not isinstance(validation["pipelineParameters"], Mapping):
                return "pipelineBeforeCleanup.pipelineParameters must be an object of parameter values"
        return None

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Create the server group empty; keep the wanted capacity as savedCapacity."""
        ctx = stage.context
        if ctx.get("useSourceCapacity"):
            ctx["useSourceCapacity"] = False
        if ctx.get("targetSize"):
            ctx["targetSize"] = 0
        saved = ctx.get("savedCapacity") or (
            dict(ctx["capacity"]) if isinstance(ctx.get("capacity"), Mapping) else None
        )
        ctx["savedCapacity"] = saved
        ctx["capacity"] = {"min": 0, "max": 0, "desired": 0}
        return []

    def after_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """The table in the module docstring."""
        ctx = stage.context
        steps = target_percentages(ctx.get("targetPercentages"))
        if isinstance(steps, str):  # checked when the stage started
            steps = [100]
        base = base_context(stage, health=False)
        region = location_of(stage)
        source = source_of(stage)
        stages = [
            SyntheticStageSpec(
                "determineTargetServerGroup",
                "Determine Deployed Server Group",
                {**base, "target": "current_asg_dynamic", "targetLocation": _location(region)},
            )
        ]
        if source is not None:
            stages.append(self._pin(base, source, "Pin", pinMinimumCapacity=True))
        deployed = new_server_group(stage)
        for pct in steps:
            grow: dict[str, Any] = {
                **base,
                "target": "current_asg_dynamic",
                "targetLocation": _location(region),
                "scalePct": pct,
                "pinCapacity": pct < 100,
                "unpinMinimumCapacity": pct == 100,
                "pinMinimumCapacity": pct < 100,
                "useNameAsLabel": True,
            }
            if ctx.get("targetHealthyDeployPercentage") is not None:
                grow["targetHealthyDeployPercentage"] = ctx["targetHealthyDeployPercentage"]
            if source is not None:
                grow.update(action="scale_to_server_group", source=dict(source))
            else:
                grow.update(action="scale_exact", capacity=ctx.get("savedCapacity"))
            stages.append(SyntheticStageSpec("resizeServerGroup", f"Grow to {pct}% of Desired Size", grow))
            stages += self._before_cleanup(stage, base, region, source, deployed, pct)
            if source is not None:
                disable = {**base, "desiredPercentage": pct, "serverGroupName": source["serverGroupName"]}
                name = f"Disable {pct}% of Traffic on {source['serverGroupName']}"
                stages.append(SyntheticStageSpec("disableServerGroup", name, disable))
        if source is not None and as_bool(ctx.get("scaleDown"), False):
            delay = seconds(ctx.get("delayBeforeScaleDownSec"))
            if delay:
                stages.append(wait_stage("Wait Before Scale Down", delay))
            scale_down = {
                **base,
                "allowScaleDownActive": False,
                "remainingFullSizeServerGroups": 1,
                "preferLargerOverNewer": False,
            }
            stages.append(SyntheticStageSpec("scaleDownCluster", "scaleDown", scale_down))
        elif source is not None:
            stages.append(self._pin(base, source, "Unpin", unpinMinimumCapacity=True))
        return stages

    def on_failure_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Unpin the source, so a failed deploy leaves it scalable again."""
        source = source_of(stage)
        if source is None:
            return []
        base = base_context(stage, health=False)
        return [self._pin(base, source, "Unpin", unpinMinimumCapacity=True, stageTimeoutMs=UNPIN_TIMEOUT_MS)]

    @staticmethod
    def _pin(
        base: Mapping[str, Any], source: Mapping[str, Any], verb: str, **extra: Any
    ) -> SyntheticStageSpec:
        context = {
            **base,
            "serverGroupName": source["serverGroupName"],
            "action": "scale_to_server_group",
            "source": dict(source),
            "useNameAsLabel": True,
            **extra,
        }
        return SyntheticStageSpec("pinServerGroup", f"{verb} {source['serverGroupName']}", context)

    @staticmethod
    def _before_cleanup(
        stage: Stage,
        base: Mapping[str, Any],
        region: str | None,
        source: Mapping[str, Any] | None,
        deployed: str | None,
        pct: int,
    ) -> list[SyntheticStageSpec]:
        stages = []
        delay = delay_before_cleanup(stage.context)
        if delay:
            stages.append(wait_stage("wait", delay))
        validation = stage.context.get("pipelineBeforeCleanup")
        if isinstance(validation, Mapping) and validation.get("application") and validation.get("pipelineId"):
            coordinates = {
                "region": region,
                "account": base.get("credentials"),
                "cloudProvider": base.get("cloudProvider"),
            }
            user = validation.get("pipelineParameters")
            parameters = {
                **(dict(user) if isinstance(user, Mapping) else {}),
                # Orca names the new group with an expression on the Grow stage's context; the
                # name is already known here (the deploy created it before this is planned).
                "deployedServerGroup": {**coordinates, "serverGroupName": deployed},
                "sourceServerGroup": {
                    **coordinates,
                    "serverGroupName": source["serverGroupName"] if source else None,
                },
                "percentageComplete": pct,
            }
            context = {
                "application": validation["application"],
                "pipelineApplication": validation["application"],
                "pipeline": validation["pipelineId"],
                "pipelineParameters": parameters,
            }
            stages.append(SyntheticStageSpec("pipeline", "Run Validation Pipeline", context))
        return stages
