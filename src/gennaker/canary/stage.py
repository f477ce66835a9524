"""The ``kayentaCanary`` stage as Orca plans it (orca-kayenta):

    kayentaCanary                      task aggregateCanaryResults (the last score decides)
      runCanaryIntervals               no tasks; plans, when it starts:
        wait "Warmup Wait"             beginCanaryAnalysisAfterMins > 0
        wait "Interval Wait #i"        real time only
        runCanary "Run Canary #i"      tasks resolveKayentaConfigId (by name), runCanary, monitorCanary

A judgement at or below the marginal threshold fails its runCanary stage (FAILED_CONTINUE with
``continuePipeline``), so the intervals after it never run. Context keys are Orca's:
``canaryPipelineExecutionId``, ``canaryScore``, ``lastUpdated``, ``lastUpdatedIso``, ``warnings`` on each
runCanary stage; ``canaryScores``, ``canaryScoreMessage`` and ``intervalStageId`` on kayentaCanary.

With ``deployments`` the stage also deploys a baseline and a canary server group before the
intervals and destroys them afterwards, on failure and on cancel too (gennaker.canary.deployments);
the judgements then compare those two server groups.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import anyio.to_thread

from gennaker.canary import deployments
from gennaker.canary.intervals import CanaryStageError, plan, request_scopes, thresholds
from gennaker.canary.runner import RunOptions
from gennaker.canary.service import Services as CanaryServices
from gennaker.canary.service import execute
from gennaker.canary.store import CanaryConfigRepository, CanaryExecutionRepository
from gennaker.engine.contracts import (
    BaseStage,
    BaseTask,
    EngineServices,
    SyntheticStageSpec,
    TaskResult,
    TaskRun,
    TaskSpec,
)
from gennaker.engine.registry import Registry
from gennaker.errors import GennakerError
from gennaker.model.execution import Execution, Stage
from gennaker.model.status import ExecutionStatus
from gennaker.providers.clouddriver import Clouddriver
from gennaker.stages._common import attempt_key, failed

KAYENTA_CANARY = "kayentaCanary"
RUN_CANARY_INTERVALS = "runCanaryIntervals"
RUN_CANARY = "runCanary"
RUN_CANARY_PREFIX = "Run Canary #"
FEW_POINTS = "One of the metrics returned fewer than 50 data points, which can reduce confidence in the final canary score."


def _canary_config(stage: Stage | Mapping[str, Any]) -> dict[str, Any]:
    context = stage.context if isinstance(stage, Stage) else stage
    raw = context.get("canaryConfig")
    config = dict(raw) if isinstance(raw, Mapping) else {}
    if context.get("deployments") is not None and not config.get("scopes"):
        # The deployed server groups are the scopes: such a config need not name any.
        config["scopes"] = [{"scopeName": "default"}]
    return config


def _deployments(stage: Stage) -> Mapping[str, Any] | None:
    found = stage.context.get("deployments")
    return found if isinstance(found, Mapping) else None


def _problem(stage: Stage) -> str | None:
    if stage.context.get("deployments") is not None:
        found = deployments.problem(stage.context.get("deployments"))
        if found is not None:
            return found
    config = _canary_config(stage)
    if not config.get("canaryConfigId") and not config.get("canaryConfigName"):
        return "Canary config must be specified as either UUID or name string"
    try:
        plan(config, stage.start_time or 0)
        request_scopes(config, (0, 0))
        thresholds(config)
    except CanaryStageError as exc:
        return str(exc)
    return None


class KayentaCanaryStage(BaseStage):
    """The canary analysis stage."""

    type = KAYENTA_CANARY

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """The intervals stage, with the canary config and continuePipeline copied down; with
        ``deployments``, the baseline and canary deployment first."""
        if _problem(stage) is not None:
            return []
        context: dict[str, Any] = {
            "canaryConfig": _canary_config(stage),
            "continuePipeline": stage.context.get("continuePipeline"),
        }
        found = _deployments(stage)
        if found is None:
            return [SyntheticStageSpec(RUN_CANARY_INTERVALS, "Run Canary Intervals", context)]
        context["useDeployedServerGroups"] = True
        deploy = {"deployments": dict(found), "application": stage.context.get("application")}
        return [
            SyntheticStageSpec(
                deployments.DEPLOY_CANARY_SERVER_GROUPS, "Deploy Canary Server Groups", deploy
            ),
            SyntheticStageSpec(RUN_CANARY_INTERVALS, "Run Canary Intervals", context),
        ]

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """Aggregate the interval scores."""
        return [TaskSpec("aggregateCanaryResults", "aggregateCanaryResults")]

    def after_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """With ``deployments``: destroy the baseline and canary clusters."""
        return self._cleanup(stage)

    def on_failure_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """With ``deployments``: destroy them on failure too."""
        return self._cleanup(stage)

    @staticmethod
    def _cleanup(stage: Stage) -> list[SyntheticStageSpec]:
        found = _deployments(stage)
        if found is None or deployments.problem(found) is not None:
            return []
        context = {"deployments": dict(found)}
        return [SyntheticStageSpec(deployments.CLEANUP_CANARY_CLUSTERS, "Cleanup Canary Clusters", context)]

    @property
    def cancellable(self) -> bool:
        """Cancelable: a canceled canary destroys its baseline and canary server groups."""
        return True

    async def cancel(
        self, execution: Execution, stage: Stage, services: EngineServices
    ) -> Mapping[str, Any] | None:
        """Destroy the baseline and canary clusters (no cleanup stage runs after a cancel)."""
        found = _deployments(stage)
        clouddriver = getattr(services, "clouddriver", None)
        if (
            found is None
            or deployments.problem(found) is not None
            or not isinstance(clouddriver, Clouddriver)
        ):
            return None
        destroyed = await deployments.destroy_clusters(
            clouddriver, attempt_key(execution, stage), execution.application, found
        )
        return {"destroyedServerGroups": destroyed}


class RunCanaryIntervalsStage(BaseStage):
    """Plans the waits and judgements when it starts (windows are relative to that moment)."""

    type = RUN_CANARY_INTERVALS

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Warm-up, interval waits and one runCanary stage per interval."""
        config = _canary_config(stage)
        try:
            planned = plan(config, stage.start_time or 0)
            limits = thresholds(config)
        except CanaryStageError:
            return []  # the parent reports the problem
        specs = []
        if planned.warmup_ms > 0:
            specs.append(SyntheticStageSpec("wait", "Warmup Wait", {"waitTime": planned.warmup_ms // 1000}))
        request_thresholds = {"pass": limits["pass"] if limits["pass"] is not None else 75.0,
                              "marginal": limits["marginal"] if limits["marginal"] is not None else 50.0}  # fmt: skip
        for i, window in enumerate(planned.windows, start=1):
            if planned.real_time:
                specs.append(
                    SyntheticStageSpec(
                        "wait", f"Interval Wait #{i}", {"waitTime": planned.interval_ms // 1000}
                    )
                )
            context = {
                "metricsAccountName": config.get("metricsAccountName"),
                "configurationAccountName": config.get("configurationAccountName"),
                "storageAccountName": config.get("storageAccountName"),
                "canaryConfigId": config.get("canaryConfigId"),
                "canaryConfigName": config.get("canaryConfigName"),
                "scopes": request_scopes(config, window),
                "scoreThresholds": request_thresholds,
                "siteLocal": dict(config.get("siteLocal") or {}),
                "continuePipeline": stage.context.get("continuePipeline"),
            }
            if stage.context.get("useDeployedServerGroups"):
                context["useDeployedServerGroups"] = True
            if config.get("inlineCanaryConfig"):
                context["inlineCanaryConfig"] = config["inlineCanaryConfig"]
            specs.append(SyntheticStageSpec(RUN_CANARY, f"{RUN_CANARY_PREFIX}{i}", context))
        return specs


class RunCanaryStage(BaseStage):
    """One judgement."""

    type = RUN_CANARY

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """Resolve the config by name when no id is given, run the canary, check its score."""
        specs = []
        if not stage.context.get("canaryConfigId"):
            specs.append(TaskSpec("resolveKayentaConfigId", "resolveKayentaConfigId"))
        specs.append(TaskSpec("runCanary", "runCanary"))
        specs.append(TaskSpec("monitorCanary", "monitorCanary"))
        return specs


class ResolveKayentaConfigIdTask(BaseTask):
    """The id of the one config with this name that lists the pipeline's application."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Look the name up."""
        name = run.context.get("canaryConfigName")
        application = run.execution.application

        def lookup() -> list[dict[str, Any]]:
            with run.services.db.read() as conn:
                return CanaryConfigRepository().list(conn, [application])

        candidates = [c for c in await anyio.to_thread.run_sync(lookup) if c["name"] == name]
        if not candidates:
            return failed(
                f"Couldn't find a canary configId for configName {name} and application {application}"
            )
        if len(candidates) > 1:
            return failed(
                f"Found more than one canary configId for configName {name} and application {application}"
            )
        return TaskResult.succeeded({"canaryConfigId": candidates[0]["id"]})


class RunKayentaCanaryTask(BaseTask):
    """Runs the judgement (fetch, pair, judge, store) under an id fixed per stage attempt, so a
    repeated run after a crash finds the first one instead of judging twice."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Run it."""
        config_id = run.context.get("canaryConfigId")
        if not config_id:
            return failed("Invalid canaryConfigId. Was the correct configName or configId used?")
        execution_id = str(
            uuid.uuid5(uuid.NAMESPACE_URL, "gennaker:canary:" + attempt_key(run.execution, run.stage))
        )

        def existing() -> dict[str, Any] | None:
            with run.services.db.read() as conn:
                try:
                    return CanaryExecutionRepository().get(conn, "canary", execution_id)
                except GennakerError:
                    return None

        resolved: dict[str, Any] = {}
        if await anyio.to_thread.run_sync(existing) is None:
            options = RunOptions(
                application=run.execution.application,
                parent_pipeline_execution_id=run.execution.id,
                metrics_account_name=run.context.get("metricsAccountName"),
                configuration_account_name=run.context.get("configurationAccountName"),
                storage_account_name=run.context.get("storageAccountName"),
                config_id=str(config_id),
            )
            scopes = run.context.get("scopes")
            if run.context.get("useDeployedServerGroups"):
                scopes = deployments.deployed_scopes(scopes or {}, run.context.get("deployedServerGroups"))
                if scopes is None:
                    return failed("No deployed server groups to analyse (deployedServerGroups is missing).")
                resolved = {"scopes": scopes}
            request = {
                "scopes": scopes,
                "thresholds": run.context.get("scoreThresholds"),
                "siteLocal": run.context.get("siteLocal") or {},
            }
            try:

                def load() -> dict[str, Any]:
                    with run.services.db.read() as conn:
                        return CanaryConfigRepository().get(conn, str(config_id))

                inline = run.context.get("inlineCanaryConfig")
                config = dict(inline) if isinstance(inline, Mapping) else await anyio.to_thread.run_sync(load)
                services = run.services
                if not isinstance(services, CanaryServices):
                    return failed(
                        "canary analysis needs the metric sources, which these services do not provide"
                    )
                await execute(services, config, request, options, execution_id=execution_id)
            except GennakerError as exc:
                return failed(exc.message, errors=[str(e) for e in getattr(exc, "errors", ())] or None)
        outputs = {"canaryPipelineExecutionId": execution_id, "canaryConfigId": config_id}
        return TaskResult.succeeded({"canaryPipelineExecutionId": execution_id, **resolved}, outputs)


class MonitorKayentaCanaryTask(BaseTask):
    """Reads the judgement: at or below marginal fails (fast), anything above goes on."""

    backoff_ms = 1_000
    timeout_ms: int | None = 12 * 3_600_000
    overridable_timeout = True

    async def execute(self, run: TaskRun) -> TaskResult:
        """Check the stored run."""
        execution_id = str(run.context.get("canaryPipelineExecutionId"))

        def load() -> dict[str, Any]:
            with run.services.db.read() as conn:
                return CanaryExecutionRepository().get(conn, "canary", execution_id)

        try:
            body = await anyio.to_thread.run_sync(load)
        except GennakerError as exc:
            return failed(exc.message)
        if body.get("status") != "succeeded":
            context: dict[str, Any] = {"canaryPipelineStatus": str(body.get("status", "")).upper()}
            if body.get("exception"):
                context["exception"] = body["exception"]
            return TaskResult(ExecutionStatus.TERMINAL, context)
        judge_result = body["result"]["judgeResult"]
        score = float(judge_result["score"]["score"])
        warnings = []
        if any(
            (r.get("controlMetadata") or {}).get("stats", {}).get("count", 0) < 50
            for r in judge_result["results"]
        ):
            warnings.append(FEW_POINTS)
        context = {
            "canaryPipelineStatus": "SUCCEEDED",
            "lastUpdated": body.get("endTimeMillis"),
            "lastUpdatedIso": body.get("endTimeIso"),
            "durationString": body["result"].get("canaryDuration"),
            "canaryScore": score,
            "warnings": warnings,
        }
        marginal = (run.context.get("scoreThresholds") or {}).get("marginal")
        if marginal is not None and score <= float(marginal):
            context["canaryScoreMessage"] = "Canary score is not above the marginal score threshold."
            status = (
                ExecutionStatus.FAILED_CONTINUE
                if run.context.get("continuePipeline") is True
                else ExecutionStatus.TERMINAL
            )
            context["exception"] = {
                "details": {
                    "error": context["canaryScoreMessage"],
                    "errors": [context["canaryScoreMessage"]],
                },
                "exceptionType": "CanaryScoreBelowMarginal",
            }
            return TaskResult(status, context)
        return TaskResult.succeeded(context)


class AggregateCanaryResultsTask(BaseTask):
    """The last interval's score against the thresholds; all scores as ``canaryScores``."""

    pure = True

    async def execute(self, run: TaskRun) -> TaskResult:
        """Aggregate."""
        problem = _problem(run.stage)
        if problem is not None:
            return failed(problem)
        intervals = next(
            (
                s
                for s in run.execution.stages
                if s.type == RUN_CANARY_INTERVALS and s.parent_stage_id == run.stage.id
            ),
            None,
        )
        runs = []
        if intervals is not None:
            runs = [
                s for s in run.execution.stages if s.type == RUN_CANARY and s.parent_stage_id == intervals.id
            ]
            runs.sort(key=lambda s: int(s.name.rsplit("#", 1)[-1]))
        scores = [float(s.context["canaryScore"]) for s in runs if s.context.get("canaryScore") is not None]
        context: dict[str, Any] = {"canaryScores": scores}
        if intervals is not None:
            context["intervalStageId"] = intervals.id
        if not scores:
            return failed("No canary scores were produced.", context)
        final = scores[-1]
        limits = thresholds(_canary_config(run.stage))
        marginal, passing = limits["marginal"], limits["pass"]
        if marginal is None and passing is None:
            return TaskResult.succeeded(
                {**context, "canaryScoreMessage": "No score thresholds were specified."}
            )
        if marginal is not None and final <= marginal:
            message = f"Final canary score {_number(final)} is not above the marginal score threshold."
            return failed(message, {**context, "canaryScoreMessage": message})
        if passing is None:
            return TaskResult.succeeded(
                {**context, "canaryScoreMessage": "No pass score threshold was specified."}
            )
        if final < passing:
            message = f"Final canary score {_number(final)} is below the pass score threshold."
            return failed(message, {**context, "canaryScoreMessage": message})
        message = f"Final canary score {_number(final)} met or exceeded the pass score threshold."
        return TaskResult.succeeded({**context, "canaryScoreMessage": message})


def _number(value: float) -> str:
    # Kotlin prints a Double as 80.0, like Python's repr of a float.
    return repr(float(value))


def register(registry: Registry, settings: Any) -> None:
    """Add the canary stage types and their tasks."""
    registry.add_task(
        "propagateDeployedServerGroupScopes", deployments.PropagateDeployedServerGroupScopesTask()
    )
    registry.add_stage(deployments.DeployCanaryServerGroupsStage())
    registry.add_stage(deployments.CleanupCanaryClustersStage())
    registry.add_task("aggregateCanaryResults", AggregateCanaryResultsTask())
    registry.add_task("resolveKayentaConfigId", ResolveKayentaConfigIdTask())
    registry.add_task("runCanary", RunKayentaCanaryTask())
    registry.add_task("monitorCanary", MonitorKayentaCanaryTask())
    registry.add_stage(KayentaCanaryStage())
    registry.add_stage(RunCanaryIntervalsStage())
    registry.add_stage(RunCanaryStage())
