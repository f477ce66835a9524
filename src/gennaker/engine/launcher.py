"""Starting executions: a pipeline config plus a trigger becomes an Execution record and a
StartExecution message, written in one transaction (Orca's ExecutionLauncher / OperationsController)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gennaker.engine import messages as m
from gennaker.engine.artifact_lookup import execution_artifacts
from gennaker.errors import Conflict, FieldError, InvalidInput
from gennaker.model.artifacts import resolve_at_start
from gennaker.model.execution import ORCHESTRATION, PIPELINE, Execution, Stage
from gennaker.model.ids import new_ulid
from gennaker.model.pipeline import assign_linear_ref_ids, validate_pipeline
from gennaker.model.status import ExecutionStatus
from gennaker.model.trigger import with_trigger_defaults
from gennaker.store import json as jsonlib
from gennaker.store.executions import ExecutionQuery
from gennaker.store.schema import events as events_t
from gennaker.templates.plan import TemplatePlanner, TemplateUsed, is_templated

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from gennaker.engine.contracts import EngineServices

ANONYMOUS = "[anonymous]"
#: Stage-config keys that are stage attributes, not context.
_STAGE_ATTRIBUTES = (
    "id",
    "refId",
    "requisiteStageRefIds",
    "type",
    "name",
    "parentStageId",
    "syntheticStageOwner",
)


def apply_parameters(config: Mapping[str, Any], supplied: Mapping[str, Any] | None) -> dict[str, Any]:
    """``trigger.parameters``: each configured parameter's supplied value, else its default; extra
    supplied keys are kept. Raises InvalidInput for a required parameter with neither."""
    params = dict(supplied or {})
    errors: list[FieldError] = []
    for entry in config.get("parameterConfig") or []:
        if not isinstance(entry, Mapping) or not entry.get("name"):
            continue
        name = str(entry["name"])
        if name not in params:
            default = entry.get("default")
            if default is not None and default != "":
                params[name] = default
            elif entry.get("required") is True:
                errors.append(FieldError(f"$.parameters.{name}", f"required parameter {name!r} is missing"))
            else:
                params[name] = default if default is not None else ""
        elif entry.get("required") is True and params[name] in (None, ""):
            errors.append(FieldError(f"$.parameters.{name}", f"required parameter {name!r} is empty"))
    if errors:
        raise InvalidInput("", errors)
    return params


class Launcher:
    """Creates executions and queues their start."""

    def __init__(self, services: EngineServices) -> None:
        self.services = services

    def start_pipeline(
        self,
        config: Mapping[str, Any],
        trigger: Mapping[str, Any] | None = None,
        *,
        user: str | None = None,
        origin: str = "api",
        execution_id: str | None = None,
    ) -> Execution:
        """Validate, build and queue a PIPELINE execution; returns it (NOT_STARTED)."""
        # Built before the transaction: under spelEvaluator v3 the whole config is evaluated here,
        # and a #fromUrl in it must not hold the database's write lock while it fetches.
        execution = self.prepare_pipeline(
            None, config, trigger, user=user, origin=origin, execution_id=execution_id
        )
        with self.services.db.transaction() as conn:
            existing = self._existing(conn, execution)
            if existing is not None:
                return existing
            self.enqueue(conn, execution)
            return execution

    def prepare_pipeline(
        self,
        conn: Connection | None,
        config: Mapping[str, Any],
        trigger: Mapping[str, Any] | None = None,
        *,
        user: str | None = None,
        origin: str = "api",
        execution_id: str | None = None,
    ) -> Execution:
        """Build (not store) the execution for a pipeline config and trigger."""
        if not isinstance(config, Mapping):
            raise InvalidInput("a pipeline config must be a JSON object")
        if config.get("disabled") is True:
            raise Conflict(
                f"pipeline {config.get('name')!r} of application {config.get('application')!r} is disabled"
            )
        registry = self.services.registry
        used: TemplateUsed | None = None
        if is_templated(config):
            config, used = self._plan(conn, config)
        errors = validate_pipeline(dict(config), known_stage_type=registry.has_stage)
        if errors:
            if used is not None:
                errors = [
                    FieldError(e.path, f"{e.message} (in the pipeline planned from {used.reference})")
                    for e in errors
                ]
            raise InvalidInput("", errors)
        now = self.services.clock.now_ms()
        trig = copy.deepcopy(dict(trigger or {}))
        trig.setdefault("type", "manual")
        trig["user"] = trig.get("user") or user or ANONYMOUS
        trig["parameters"] = apply_parameters(config, trig.get("parameters"))
        trig.setdefault("artifacts", [])
        # Orca processes the raw trigger against itself before anything reads it
        # (DependentPipelineStarter, OperationsController.orchestratePipeline): a parameter default
        # of ${2 == 2} becomes true, ${trigger.type} the trigger's type.
        trig = self.services.evaluator.evaluate_trigger(trig)
        expected = config.get("expectedArtifacts") or []
        if expected:
            # Expressions in an expected artifact (its match or default fields) see the evaluated
            # trigger and its parameters before the artifact is bound.
            expected = self.services.evaluator.evaluate_with_trigger(expected, trig)
            artifacts, resolved = resolve_at_start(
                expected, trig, lambda: self._prior_artifacts(conn, config.get("id"))
            )
            trig["artifacts"] = artifacts
            trig["resolvedExpectedArtifacts"] = resolved
            trig["expectedArtifacts"] = copy.deepcopy(resolved)
        trig = with_trigger_defaults(trig, user=user)
        evaluated = self.services.evaluator.evaluate_pipeline_config(
            assign_linear_ref_ids(copy.deepcopy(dict(config))), trig
        )
        execution = Execution(
            id=execution_id or new_ulid(now),
            type=PIPELINE,
            application=str(evaluated.get("application")),
            name=evaluated.get("name"),
            pipeline_config_id=evaluated.get("id"),
            build_time=now,
            limit_concurrent=evaluated.get("limitConcurrent") is True,
            max_concurrent_executions=_int(evaluated.get("maxConcurrentExecutions")),
            keep_waiting_pipelines=evaluated.get("keepWaitingPipelines") is True,
            origin=origin,
            authentication={
                "user": trig["user"],
                "allowedAccounts": self.services.access.allowed_accounts(trig["user"]),
            },
            trigger=trig,
            notifications=list(evaluated.get("notifications") or []),
            spel_evaluator=evaluated.get("spelEvaluator"),
            template_variables=evaluated.get("templateVariables"),
            description=evaluated.get("description"),
            locks=_locks(evaluated.get("locks")),
            start_time_expiry=_opt_int(evaluated.get("startTimeExpiry")),
        )
        if used is not None:
            execution.state["template"] = used.to_json()
        execution.initial_config = {
            k: evaluated[k] for k in ("id", "application", "name", "index") if k in evaluated
        }
        execution.stages = [
            *(_stage(s, now, is_finally=False) for s in evaluated.get("stages") or []),
            *(_stage(s, now, is_finally=True) for s in evaluated.get("finally") or []),
        ]
        return execution

    def _prior_artifacts(self, conn: Connection | None, config_id: Any) -> list[dict[str, Any]]:
        """The artifacts of this pipeline's latest execution (for ``usePriorArtifact``): its stages'
        ``outputs.artifacts``, later stages first, then its trigger's."""
        if not isinstance(config_id, str) or not config_id:
            return []
        query = ExecutionQuery(pipeline_config_ids=[config_id], type=PIPELINE, limit=10)
        if conn is not None:
            found = self.services.executions.search(conn, query)
        else:
            with self.services.db.read() as read:
                found = self.services.executions.search(read, query)
        if not found:
            return []
        latest = max(found, key=lambda e: (e.start_time is not None, e.start_time or 0, e.id))
        return execution_artifacts(latest)

    def _plan(
        self, conn: Connection | None, config: Mapping[str, Any]
    ) -> tuple[dict[str, Any], TemplateUsed]:
        planner = TemplatePlanner(self.services.templates)
        if conn is not None:
            return planner.plan(conn, config)
        with self.services.db.read() as read:
            return planner.plan(read, config)

    def start_orchestration(
        self,
        application: str,
        description: str,
        jobs: Sequence[Mapping[str, Any]],
        *,
        user: str | None = None,
        origin: str = "api",
    ) -> Execution:
        """Queue an ad-hoc ORCHESTRATION (Gate's ``POST /tasks``): one stage per job, in order."""
        registry = self.services.registry
        errors = []
        for index, job in enumerate(jobs):
            kind = job.get("type") if isinstance(job, Mapping) else None
            if not isinstance(kind, str) or not kind:
                errors.append(FieldError(f"$.job[{index}].type", "is required"))
            elif not registry.has_stage(kind):
                errors.append(FieldError(f"$.job[{index}].type", f"unknown stage type {kind!r}"))
        if not jobs:
            errors.append(FieldError("$.job", "must list at least one job"))
        if errors:
            raise InvalidInput("", errors)
        now = self.services.clock.now_ms()
        execution = Execution(
            id=new_ulid(now),
            type=ORCHESTRATION,
            application=application,
            name=description,
            description=description,
            build_time=now,
            origin=origin,
            authentication={
                "user": user or ANONYMOUS,
                "allowedAccounts": self.services.access.allowed_accounts(user),
            },
            trigger=with_trigger_defaults({"type": "manual"}, user=user),
        )
        for index, job in enumerate(jobs):
            stage_config = dict(job)
            stage_config["refId"] = str(index)
            stage_config["requisiteStageRefIds"] = [str(index - 1)] if index else []
            execution.stages.append(_stage(stage_config, now, is_finally=False))
        with self.services.db.transaction() as conn:
            self.enqueue(conn, execution)
        return execution

    def enqueue(self, conn: Connection, execution: Execution) -> None:
        """Store a new execution and queue its StartExecution (same transaction)."""
        self.services.executions.insert(conn, execution)
        start = m.StartExecution(execution.type, execution.id, execution.application)
        self.services.queue.push(conn, start.queued())
        conn.execute(
            events_t.insert().values(
                ts=execution.build_time,
                type="pipeline.created",
                application=execution.application,
                execution_id=execution.id,
                body=jsonlib.dumps(
                    {
                        "executionId": execution.id,
                        "executionType": execution.type,
                        "application": execution.application,
                        "pipelineConfigId": execution.pipeline_config_id,
                        "name": execution.name,
                        "status": ExecutionStatus.NOT_STARTED.value,
                        "trigger": {
                            "type": execution.trigger.get("type"),
                            "user": execution.trigger.get("user"),
                        },
                    }
                ),
            )
        )

    def _existing(self, conn: Connection, execution: Execution) -> Execution | None:
        correlation = execution.trigger.get("correlationId")
        if not correlation:
            return None
        found = self.services.executions.id_for_correlation(conn, str(correlation))
        return self.services.executions.load(conn, found) if found else None


def _stage(config: Mapping[str, Any], now: int, *, is_finally: bool) -> Stage:
    context = {k: v for k, v in config.items() if k not in _STAGE_ATTRIBUTES}
    ref = config.get("refId")
    return Stage(
        id=new_ulid(now),
        ref_id=None if ref is None else str(ref),
        type=str(config.get("type")),
        name=str(config.get("name") or config.get("type")),
        context=context,
        requisite_stage_ref_ids=[str(r) for r in config.get("requisiteStageRefIds") or []],
        is_finally=is_finally,
    )


def _locks(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [
        {"name": str(lock["name"]), "mode": str(lock.get("mode") or "oldest_first")}
        for lock in value
        if isinstance(lock, Mapping) and lock.get("name")
    ]


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _opt_int(value: Any) -> int | None:
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None
