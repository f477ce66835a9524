"""``pipeline``: starts another pipeline (by config id, ``pipeline``) of this application or of
``pipelineApplication``/``application``, and by default waits for it.

The child's trigger is ``{type: "pipeline", parentExecution, parentPipelineId,
parentPipelineStageId, parentPipelineName, parentPipelineApplication, parameters, user,
correlationId}``; the launcher overlays ``parameters`` (the stage's ``pipelineParameters``) on the
child's parameterConfig defaults. The correlationId ``<parentId>_<stageId>_<configId>_<parentStart>``
makes a re-run of the start task (after a crash) return the child it already started; a restarted
or retried stage adds the id of its new attempt, so it starts a new child.

The monitor polls every 15 s (12 h timeout, ``stageTimeoutMs`` replaces it): child SUCCEEDED ->
SUCCEEDED, publishing the child's merged outputs unless ``skipDownstreamOutput``; TERMINAL/STOPPED ->
TERMINAL with the child's errors in ``exception.details.errors``; CANCELED -> CANCELED. Cancelling
(or failing) the stage cancels a child that is still running. ``skippable: true`` allows
``PATCH {manualSkip: true}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gennaker.engine.context_view import merged_outputs
from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.errors import GennakerError
from gennaker.model.execution import Execution, Stage
from gennaker.model.status import ExecutionStatus as S
from gennaker.stages._common import ATTEMPT_ID, as_bool, exception, failed, new_attempt

if TYPE_CHECKING:
    from gennaker.engine.contracts import EngineServices

_POLL_MS = 15_000
_FAILED = (S.TERMINAL, S.STOPPED)


def correlation_id(execution: Execution, stage: Stage, config_id: str) -> str:
    """The child's trigger correlationId (one per attempt of the stage)."""
    base = f"{execution.id}_{stage.id}_{config_id}_{execution.start_time}"
    if stage.context.get("restartDetails") or stage.context.get("retryAttempts"):
        base += f"_{stage.context.get(ATTEMPT_ID) or stage.start_time}"
    return base


def _trimmed(execution: Execution) -> dict[str, Any]:
    """The parent's JSON, with its own parentExecution cut to a header (keeps nesting bounded)."""
    data = execution.to_json()
    trigger = dict(data.get("trigger") or {})
    grandparent = trigger.get("parentExecution")
    if isinstance(grandparent, Mapping):
        trigger["parentExecution"] = {
            k: grandparent[k]
            for k in ("id", "type", "application", "name", "pipelineConfigId", "status")
            if k in grandparent
        }
    data["trigger"] = trigger
    return data


def _load_config(
    services: EngineServices, config_id: str, *, strategy: bool = False
) -> dict[str, Any] | None:
    # A deploy's custom strategy names a strategy config (Front50's strategies), not a pipeline.
    repository = getattr(services, "strategies", None) if strategy else services.pipelines
    if repository is None:
        return None
    with services.db.read() as conn:
        found: dict[str, Any] | None = repository.find(conn, config_id)
        return found


def _strategy_parameters(context: Mapping[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """Orca adds the deploy's image to a strategy pipeline's parameters: ``deploymentDetails``
    (ami, imageName, imageId and the location) and ``amiName``/``imageId`` of the matching region."""
    details = [
        {
            "ami": d.get("ami"),
            "imageName": d.get("imageName"),
            "imageId": d.get("imageId"),
            **({"region": d["region"]} if d.get("region") else {"zone": d["zone"]} if d.get("zone") else {}),
        }
        for d in context.get("deploymentDetails") or []
        if isinstance(d, Mapping)
    ]
    if not details:
        return parameters
    parameters["deploymentDetails"] = details
    location = parameters.get("region") or parameters.get("zone")
    if not parameters.get("amiName") and location:
        match = next((d for d in details if location in (d.get("region"), d.get("zone"))), None)
        if match:
            parameters["amiName"] = match["ami"]
            parameters["imageId"] = match["imageId"]
    return parameters


def _load_execution(services: EngineServices, execution_id: str) -> Execution | None:
    with services.db.read() as conn:
        return services.executions.find(conn, execution_id)


def started_here(child: Execution, execution: Execution, stage: Stage) -> bool:
    """Whether ``child`` is the execution this stage started: ``executionId`` sits in the stage
    context, which pipeline JSON can set, so it is checked against the child's own trigger before
    the stage reads the child's outputs or cancels it."""
    trigger = child.trigger
    return (
        trigger.get("type") == "pipeline"
        and str(trigger.get("parentPipelineId") or "") == execution.id
        and str(trigger.get("parentPipelineStageId") or "") == stage.id
    )


_PARENT_SKIPPED = frozenset(
    (
        "kato.tasks",
        "kato.last.task.id",
        "stageAttemptId",
        "deploy.server.groups",
        "source",
        "exception",
        "afterStagesPlanned",
        "onFailureStagesPlanned",
        "pipelineParameters",
        "strategyApplication",
        "strategyPipeline",
        "deploy.account.name",
        "notification.type",
    )
)


def _strategy_config(
    config: Mapping[str, Any], parent: Stage | None, parameters: Mapping[str, Any]
) -> dict[str, Any]:
    """A strategy pipeline as Orca runs it: every top-level stage gets the deploy's cloudProvider,
    cluster, credentials and region(s) from the parameters (StageExecution.resolveStrategyParams),
    and its ``deploy`` stages deploy the cluster of the stage that chose the strategy, with
    strategy "none" and the image of the parameters (ParallelDeployStage)."""
    location: dict[str, Any] = {}
    if parameters.get("region") is not None:
        location["regions"] = [parameters["region"]]
    elif parameters.get("zone") is not None:
        location["zones"] = [parameters["zone"]]
    stages = []
    for raw in config.get("stages") or []:
        if not isinstance(raw, Mapping):
            stages.append(raw)
            continue
        stage = {
            **raw,
            "cloudProvider": parameters.get("cloudProvider"),
            "cluster": parameters.get("cluster"),
            "credentials": parameters.get("credentials"),
            **location,
        }
        if raw.get("type") == "deploy" and parent is not None:
            cluster = {k: v for k, v in parent.context.items() if k not in _PARENT_SKIPPED}
            cluster.pop("cluster", None)
            cluster["strategy"] = "none"
            for key in ("amiName", "imageId"):
                if parameters.get(key):
                    cluster[key] = parameters[key]
            stage.pop("cluster", None)
            stage["clusters"] = [cluster]
        stages.append(stage)
    return {**config, "stages": stages}


class StartPipelineTask(BaseTask):
    """Starts the child (idempotent through the trigger's correlationId)."""

    pure = False

    async def execute(self, run: TaskRun) -> TaskResult:
        """Load the child's config and launch it."""
        parameters = run.context.get("pipelineParameters")
        strategy = isinstance(parameters, Mapping) and as_bool(parameters.get("strategy"), False)
        config_id = run.context.get("pipelineId" if strategy else "pipeline")
        if not isinstance(config_id, str) or not config_id:
            if strategy:
                return failed(
                    "The custom strategy needs strategyPipeline: the id of the strategy config to run"
                )
            return failed("The pipeline stage needs 'pipeline': the id of the pipeline config to start")
        application = str(
            run.context.get("pipelineApplication")
            or run.context.get("application")
            or run.execution.application
        )
        services = run.services
        config = await asyncio.to_thread(_load_config, services, config_id, strategy=strategy)
        if config is None:
            if strategy:
                return failed(
                    f"The referenced custom strategy cannot be located ({config_id}, application {application})"
                )
            return failed(f"Pipeline {config_id} does not exist (application {application})")
        owner = str(config.get("application") or "")
        if owner.lower() != application.lower():
            return failed(
                f"Pipeline {config_id} does not exist in application {application} "
                f"(it belongs to application {owner})"
            )
        name = config.get("name")
        if config.get("disabled") is True:
            return failed(f"Pipeline {name!r} ({config_id}) of application {owner} is disabled")
        given = dict(parameters) if isinstance(parameters, Mapping) else {}
        if strategy:
            given = _strategy_parameters(run.context, given)
            given["parentPipelineId"] = given.get("parentPipelineId") or run.execution.id
            parent_stage = run.execution.stage(str(given.get("parentStageId") or ""))
            config = _strategy_config(config, parent_stage, given)
        parent = run.execution
        user = parent.trigger.get("user") or (parent.authentication or {}).get("user")
        trigger = {
            "type": "pipeline",
            "user": user,
            "parentExecution": _trimmed(parent),
            "parentPipelineId": parent.id,
            "parentPipelineStageId": run.stage.id,
            "parentPipelineName": parent.name,
            "parentPipelineApplication": parent.application,
            "parameters": given,
            "correlationId": correlation_id(parent, run.stage, config_id),
        }
        try:
            child = await asyncio.to_thread(
                services.launcher.start_pipeline, config, trigger, user=user, origin="pipeline"
            )
        except GennakerError as exc:
            return failed(f"Could not start pipeline {name!r} ({config_id}): {exc.message}")
        return TaskResult.succeeded({"executionId": child.id, "executionName": child.name})


def child_errors(child: Execution) -> list[str]:
    """The errors of a child execution: its stages' exception messages, then its own errors."""
    errors: list[str] = []
    for stage in child.stages:
        details = (stage.context.get("exception") or {}).get("details") or {}
        found = details.get("errors") or ([details["error"]] if details.get("error") else [])
        errors.extend(str(e) for e in found if str(e) not in errors)
    errors.extend(str(e) for e in child.extra.get("errors") or [] if str(e) not in errors)
    return errors


class MonitorPipelineTask(BaseTask):
    """Waits for the child to finish and takes over its outcome."""

    pure = False
    backoff_ms = _POLL_MS
    timeout_ms: int | None = 12 * 3600 * 1000
    overridable_timeout = True

    async def execute(self, run: TaskRun) -> TaskResult:
        """Read the child's status."""
        child_id = run.stage.context.get("executionId")
        if not child_id:
            return failed("There is no child pipeline to wait for (executionId is missing)")
        child = await asyncio.to_thread(_load_execution, run.services, str(child_id))
        if child is None:
            return failed(f"The child pipeline execution {child_id} no longer exists")
        if not started_here(child, run.execution, run.stage):
            return failed(f"Execution {child_id} was not started by this stage")
        status = child.status
        context: dict[str, Any] = {"status": status.value}
        if status in (S.SUCCEEDED, S.SKIPPED):
            skip = as_bool(run.context.get("skipDownstreamOutput"), False)
            return TaskResult.succeeded(context, {} if skip else merged_outputs(child))
        if status in _FAILED:
            errors = child_errors(child) or [f"the child pipeline ended {status.value}"]
            source = next(
                (s for s in child.stages if s.status in _FAILED and s.parent_stage_id is None), None
            )
            error = exception(
                f"Pipeline {child.name!r} ({child.id}) ended {status.value}",
                errors,
                exception_type="ChildPipelineFailed",
            )
            if source is not None:
                error["source"] = {"executionId": child.id, "stageId": source.id, "stageName": source.name}
            return TaskResult(S.TERMINAL, {**context, "exception": error})
        if status == S.CANCELED:
            return TaskResult(S.CANCELED, context)
        return TaskResult.running(context)


class PipelineStage(BaseStage):
    """Runs another pipeline as a stage."""

    type = "pipeline"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """Start, then (unless ``waitForCompletion: false``) wait."""
        new_attempt(stage)
        tasks = [TaskSpec("startPipeline", "startPipelineTask")]
        if as_bool(stage.context.get("waitForCompletion"), True):
            tasks.append(TaskSpec("monitorPipeline", "monitorPipelineTask"))
        return tasks

    def can_manually_skip(self, stage: Stage) -> bool:
        """Only with ``skippable: true``."""
        return as_bool(stage.context.get("skippable"), False)

    def prepare_for_restart(self, stage: Stage) -> None:
        """A restarted stage starts a new child."""
        for key in ("executionId", "executionName", "status"):
            stage.context.pop(key, None)

    @property
    def cancellable(self) -> bool:
        """Cancelling the stage cancels the child."""
        return True

    async def cancel(
        self, execution: Execution, stage: Stage, services: EngineServices
    ) -> Mapping[str, Any] | None:
        """Cancel the child if it is still running."""
        child_id = stage.context.get("executionId")
        if not child_id:
            return None
        child_found = await asyncio.to_thread(_load_execution, services, str(child_id))
        if child_found is None or not started_here(child_found, execution, stage):
            return None
        reason = f"stage {stage.name!r} of parent pipeline {execution.id} ended {stage.status.value}"
        user = execution.canceled_by or execution.trigger.get("user")
        child = await asyncio.to_thread(services.operations.cancel, str(child_id), user=user, reason=reason)
        return {"childExecutionId": child.id, "childStatus": child.status.value}


def register(registry: Registry, settings: Any) -> None:
    """Add the pipeline stage type."""
    registry.add_task("startPipelineTask", StartPipelineTask())
    registry.add_task("monitorPipelineTask", MonitorPipelineTask())
    registry.add_stage(PipelineStage())
