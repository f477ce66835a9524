"""``custom`` (Orca's CustomStrategy): a strategy pipeline (a strategy config of
``strategyApplication``, id ``strategyPipeline``) replaces create-and-wait. The deploy stage only
finds its source and health providers, then runs the strategy pipeline as a ``pipeline`` stage
named "pipeline" with the parameters Orca passes: application, credentials, cluster, moniker,
region, cloudProvider, ``strategy: true``, ``clone``, parentPipelineId, parentStageId, then the
user's ``pipelineParameters``. Inside, each stage gets cloudProvider/cluster/credentials/regions
from those parameters and a ``deploy`` stage deploys this stage's cluster with strategy none."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import SyntheticStageSpec
from gennaker.model.execution import Stage
from gennaker.stages.cloud.strategies.base import NoSteps, account_of_stage, base_context, location_of


class CustomStrategy(NoSteps):
    """One ``pipeline`` stage running the strategy config."""

    name = "custom"
    replaces_basic_steps = True

    def problem(self, stage: Stage) -> str | None:
        """strategyApplication and strategyPipeline are required."""
        missing = [k for k in ("strategyApplication", "strategyPipeline") if not stage.context.get(k)]
        if missing:
            return (
                f"the custom strategy needs {' and '.join(missing)} "
                "(the application and id of a saved strategy config)"
            )
        params = stage.context.get("pipelineParameters")
        if params is not None and not isinstance(params, Mapping):
            return "pipelineParameters must be an object of parameter values"
        return None

    def after_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """The strategy pipeline."""
        ctx = stage.context
        base = base_context(stage, health=False)
        parameters: dict[str, Any] = {
            "application": ctx.get("application"),
            "credentials": account_of_stage(stage),
            "cluster": base["cluster"],
            "moniker": base["moniker"],
            "region": location_of(stage),
            "cloudProvider": base["cloudProvider"],
            "strategy": True,
            "clone": stage.type == "cloneServerGroup",
            # the execution's id is not known to a stage; the pipeline stage fills it in
            "parentPipelineId": None,
            "parentStageId": stage.id,
        }
        if isinstance(ctx.get("pipelineParameters"), Mapping):
            parameters.update(ctx["pipelineParameters"])
        context = {
            "application": ctx.get("application"),
            "pipelineApplication": ctx.get("strategyApplication"),
            "pipelineId": ctx.get("strategyPipeline"),
            "pipelineParameters": parameters,
        }
        return [SyntheticStageSpec("pipeline", "pipeline", context)]
