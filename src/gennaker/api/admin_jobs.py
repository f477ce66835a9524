"""Gate's administrative tasks (``POST /tasks`` jobs such as ``createApplication``), run at once.

Orca runs these as stages that call Front50. Here the store is in the same database, so each job
is applied synchronously, inside one transaction together with the ORCHESTRATION execution that
records it: when ``POST /tasks`` answers ``{ref: "/tasks/<id>"}`` the change is already made (or
has failed), and ``GET /tasks/{id}`` shows it SUCCEEDED or TERMINAL. This needs no worker, so a
lone ``gennaker api`` process can manage applications, and no fake stage types that the engine
would have to run. Jobs run in order, each under a savepoint; the first failure leaves that stage
TERMINAL (its writes undone, the earlier jobs kept, the later ones NOT_STARTED), as Orca does.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker.api.policy_checks import save_refusal
from gennaker.errors import FieldError, GennakerError, InvalidInput, NotFound
from gennaker.gitops.settings import gitops_settings
from gennaker.gitops.state import check_not_managed
from gennaker.model.execution import ORCHESTRATION, Execution, Stage, Task
from gennaker.model.ids import new_ulid
from gennaker.model.pipeline import ALLOW_UNAVAILABLE, Availability, stage_availability, validate_pipeline
from gennaker.model.redaction import redact, restore
from gennaker.model.status import ExecutionStatus
from gennaker.model.trigger import with_trigger_defaults
from gennaker.store import json as jsonlib
from gennaker.store.schema import events as events_t
from gennaker.templates.plan import TemplatePlanner, is_templated

if TYPE_CHECKING:
    from gennaker.services import Services

Json = dict[str, Any]
Job = Callable[["Services", Connection, Json, str | None], Json]
ANONYMOUS = "anonymous"


def _application(job: Json) -> Json:
    app = job.get("application")
    if not isinstance(app, dict):
        raise InvalidInput("", [FieldError("$.application", "must be an application object")])
    return app


def create_application(services: Services, conn: Connection, job: Json, user: str | None) -> Json:
    """Create or update (Orca's UpsertApplicationTask)."""
    return {"application": services.applications.upsert(conn, _application(job), user=user)}


def update_application(services: Services, conn: Connection, job: Json, user: str | None) -> Json:
    """Merge attributes into an existing application."""
    app = _application(job)
    name = app.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("", [FieldError("$.application.name", "is required")])
    return {"application": services.applications.update(conn, name, app, user=user)}


def delete_application(services: Services, conn: Connection, job: Json, user: str | None) -> Json:
    """Delete an application with its pipeline configs."""
    name = _application(job).get("name")
    if not isinstance(name, str) or not services.applications.delete(conn, name):
        raise NotFound(f"Application not found (id: {name})")
    return {}


def decode_pipeline(value: object, path: str = "$.pipeline") -> Json:
    """A pipeline given as an object or, as Gate sends it, base64 of its JSON."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            decoded = jsonlib.loads(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            raise InvalidInput(
                "", [FieldError(path, "must be a pipeline object or base64 of its JSON")]
            ) from None
        if isinstance(decoded, dict):
            return decoded
    raise InvalidInput("", [FieldError(path, "must be a pipeline object or base64 of its JSON")])


def availability(services: Services) -> Availability:
    """The stage types and cloud providers configured here, for save-time checks."""
    registry = services.registry
    return Availability(has_stage=registry.has_stage, provider_problem=registry.provider_problem)


def check_config(services: Services, conn: Connection, config: Json) -> None:
    """Validate a pipeline config for saving (stage types and cloud providers configured here,
    unless it sets allowUnavailableStages); its application must exist."""
    errors = validate_pipeline(config, availability=availability(services))
    if errors:
        raise InvalidInput("", errors)
    check_templated(services, conn, config)
    guard_managed(
        services, conn, config_id=config.get("id"), application=config["application"], name=config["name"]
    )
    if not services.applications.exists(conn, str(config["application"])):
        raise NotFound(f"application {config['application']} does not exist; create it first")


def guard_managed(
    services: Services,
    conn: Connection,
    *,
    config_id: Any = None,
    application: Any = None,
    name: Any = None,
) -> None:
    """Conflict when a gitops repository manages the pipeline (it is changed in git, not here)."""
    check_not_managed(
        conn,
        gitops_settings(services.settings),
        config_id=str(config_id) if config_id else None,
        application=str(application) if application else None,
        name=str(name) if name else None,
    )


def check_templated(services: Services, conn: Connection, config: Json) -> None:
    """A templated config must plan (template found, variables typed, stages placed) into a valid
    pipeline; the planned pipeline's problems are reported with the template named."""
    if not is_templated(config):
        return
    planned, used = TemplatePlanner(services.templates).plan(conn, config)
    checks = None if config.get(ALLOW_UNAVAILABLE) is True else availability(services)
    errors = validate_pipeline(planned, availability=checks)
    if errors:
        raise InvalidInput(
            "",
            [
                FieldError(e.path, f"{e.message} (in the pipeline planned from {used.reference})")
                for e in errors
            ],
        )


def save_pipeline(services: Services, conn: Connection, job: Json, user: str | None) -> Json:
    """Create or update a pipeline config (Orca's SavePipelineTask)."""
    config = decode_pipeline(job.get("pipeline"))
    config_id = config.get("id")
    config = restore(config, services.pipelines.find(conn, str(config_id)) if config_id else None)
    check_config(services, conn, config)
    saved = services.pipelines.save(conn, config, user=user, stale_check=job.get("staleCheck") is True)
    return {"pipeline.id": saved["id"], "pipeline.name": saved["name"]}


def delete_pipeline(services: Services, conn: Connection, job: Json, user: str | None) -> Json:
    """Delete a pipeline config by application and name."""
    app, name = job.get("application"), job.get("pipeline")
    if not isinstance(app, str) or not isinstance(name, str):
        raise InvalidInput("", [FieldError("$", "application and pipeline (the name) are required")])
    guard_managed(services, conn, application=app, name=name)
    if not services.pipelines.delete_by_name(conn, app, name):
        raise NotFound(f"No pipeline found with application {app}, name {name}")
    return {}


def _template(job: Json) -> Json:
    value = job.get("pipelineTemplate")
    return decode_pipeline(value, "$.pipelineTemplate")


def check_template_stages(services: Services, template: Json) -> None:
    """A template's stages get the save-time stage-type and provider checks of a pipeline (unless
    the template sets allowUnavailableStages)."""
    if template.get(ALLOW_UNAVAILABLE) is True:
        return
    pipeline = template.get("pipeline")
    stages = pipeline.get("stages") if isinstance(pipeline, dict) else None
    if not isinstance(stages, list):
        return
    checks = availability(services)
    errors = [
        error
        for index, stage in enumerate(stages)
        if isinstance(stage, dict)
        for error in stage_availability(stage, f"$.pipeline.stages[{index}]", checks)
    ]
    if errors:
        raise InvalidInput("", errors)


def save_template(services: Services, conn: Connection, job: Json, user: str | None) -> Json:
    """Create (``createV2PipelineTemplate``) or update a v2 pipeline template under a tag."""
    tag = job.get("tag") if isinstance(job.get("tag"), str) else None
    create_only = job.get("type") == "createV2PipelineTemplate"
    template = _template(job)
    check_template_stages(services, template)
    saved = services.templates.save(conn, template, tag=tag, user=user, create_only=create_only)
    return {"pipelineTemplate.id": saved["id"], "tag": saved["tag"], "digest": saved["digest"]}


def delete_template(services: Services, conn: Connection, job: Json, user: str | None) -> Json:
    """Delete a v2 pipeline template (one tag, one digest, or all versions)."""
    template_id = job.get("pipelineTemplateId")
    if not isinstance(template_id, str):
        raise InvalidInput("", [FieldError("$.pipelineTemplateId", "is required")])
    tag = job.get("tag") if isinstance(job.get("tag"), str) else None
    digest = job.get("digest") if isinstance(job.get("digest"), str) else None
    if not services.templates.delete(conn, template_id, tag=tag, digest=digest):
        raise NotFound(f"No pipeline template found with id {template_id}")
    return {}


def upsert_project(services: Services, conn: Connection, job: Json, user: str | None) -> Json:
    """Create or update a project (Orca's UpsertProjectTask; Deck's ProjectWriter.upsertProject)."""
    project = job.get("project")
    if not isinstance(project, dict):
        raise InvalidInput("", [FieldError("$.project", "must be a project object")])
    saved = services.projects.upsert(conn, project, user=user)
    return {"project": saved}


def delete_project(services: Services, conn: Connection, job: Json, user: str | None) -> Json:
    """Delete a project by ``project.id`` (Deck's ProjectWriter.deleteProject)."""
    project = job.get("project")
    project_id = project.get("id") if isinstance(project, dict) else None
    if not isinstance(project_id, str) or not project_id:
        raise InvalidInput("", [FieldError("$.project.id", "is required")])
    if not services.projects.delete(conn, project_id):
        raise NotFound(f"Project not found (id: {project_id})")
    return {}


JOBS: dict[str, Job] = {
    "createApplication": create_application,
    "updateApplication": update_application,
    "deleteApplication": delete_application,
    "savePipeline": save_pipeline,
    "updatePipeline": save_pipeline,
    "deletePipeline": delete_pipeline,
    "createV2PipelineTemplate": save_template,
    "updateV2PipelineTemplate": save_template,
    "deleteV2PipelineTemplate": delete_template,
    "upsertProject": upsert_project,
    "deleteProject": delete_project,
}


def is_admin(jobs: Sequence[Mapping[str, Any]]) -> bool:
    """Whether every job is an administrative one (run here, synchronously)."""
    return bool(jobs) and all(is_admin_job(j) for j in jobs)


def is_admin_job(job: object) -> bool:
    """Whether one job is an administrative one."""
    return isinstance(job, Mapping) and isinstance(job.get("type"), str) and job["type"] in JOBS


#: Administrative jobs that save something policies judge, and the kind each saves.
SAVE_JOBS = {
    "savePipeline": "pipeline",
    "updatePipeline": "pipeline",
    "createV2PipelineTemplate": "template",
    "updateV2PipelineTemplate": "template",
}


def job_refusals(
    services: Services, jobs: Sequence[Mapping[str, Any]], user: str | None
) -> dict[int, InvalidInput]:
    """Per job index, the refusal of a save job that policies deny."""
    refusals: dict[int, InvalidInput] = {}
    if not services.policies.rules("save"):
        return refusals
    for index, job in enumerate(jobs):
        kind = SAVE_JOBS.get(str(job.get("type")))
        if kind is None:
            continue
        try:
            body = decode_pipeline(job.get("pipeline")) if kind == "pipeline" else job.get("pipelineTemplate")
        except InvalidInput:
            continue  # the job itself reports what is wrong with it
        if isinstance(body, Mapping):
            refusal = save_refusal(services, body, kind=kind, user=user)
            if refusal is not None:
                refusals[index] = refusal
    return refusals


def run_admin_jobs(
    services: Services, application: str, description: str, jobs: Sequence[Json], *, user: str | None
) -> Execution:
    """Apply ``jobs`` and record them as a finished ORCHESTRATION; returns it."""
    now = services.clock.now_ms()
    who = user or ANONYMOUS
    execution = Execution(
        id=new_ulid(now),
        type=ORCHESTRATION,
        application=application,
        name=description,
        description=description,
        build_time=now,
        start_time=now,
        origin="api",
        authentication={"user": who, "allowedAccounts": services.authz.allowed_accounts(user)},
        trigger=with_trigger_defaults({"type": "manual"}, user=who),
    )
    for index, job in enumerate(jobs):
        context = {k: v for k, v in job.items() if k != "type"}
        if job.get("type") == "savePipeline" and "pipeline" in context:
            # The task record is read back (GET /tasks/{id}): keep no secret there, even in base64.
            try:
                context["pipeline"] = redact(decode_pipeline(context["pipeline"]))
            except InvalidInput:
                pass
        stage = Stage(
            id=new_ulid(now),
            ref_id=str(index),
            type=str(job["type"]),
            name=str(job["type"]),
            context=context,
            requisite_stage_ref_ids=[str(index - 1)] if index else [],
        )
        stage.tasks = [Task("1", str(job["type"]), f"gennaker.api.admin_jobs.{JOBS[job['type']].__name__}")]
        execution.stages.append(stage)
    refusals = job_refusals(services, jobs, user)
    with services.db.transaction() as conn:
        status = ExecutionStatus.SUCCEEDED
        for index, (stage, job) in enumerate(zip(execution.stages, jobs, strict=True)):
            try:
                if index in refusals:
                    raise refusals[index]
                with conn.begin_nested():
                    outputs = JOBS[stage.type](services, conn, job, user)
                _finish(stage, ExecutionStatus.SUCCEEDED, now)
                stage.outputs.update(outputs)
            except GennakerError as exc:
                _finish(stage, ExecutionStatus.TERMINAL, now)
                errors = [str(e) for e in exc.errors] if isinstance(exc, InvalidInput) else []
                stage.context["exception"] = {
                    "details": {"error": exc.message, "errors": errors or [exc.message]},
                    "exceptionType": type(exc).__name__,
                    "shouldRetry": False,
                    "timestamp": now,
                }
                status = ExecutionStatus.TERMINAL
                break
        execution.status = status
        execution.end_time = now
        services.executions.insert(conn, execution)
        _record_events(conn, execution)
    return execution


def _finish(stage: Stage, status: ExecutionStatus, now: int) -> None:
    stage.status = status
    stage.start_time = stage.end_time = now
    for task in stage.tasks:
        task.status = status
        task.start_time = task.end_time = now
        task.stage_start = task.stage_end = True


def _record_events(conn: Connection, execution: Execution) -> None:
    base = {
        "executionId": execution.id,
        "executionType": execution.type,
        "application": execution.application,
        "pipelineConfigId": None,
        "name": execution.name,
    }
    final = "pipeline.complete" if execution.status == ExecutionStatus.SUCCEEDED else "pipeline.failed"
    rows = [
        ("pipeline.starting", {**base, "status": ExecutionStatus.RUNNING.value}),
        (final, {**base, "status": execution.status.value}),
    ]
    conn.execute(
        events_t.insert(),
        [
            {
                "ts": execution.build_time,
                "type": kind,
                "application": execution.application,
                "execution_id": execution.id,
                "body": jsonlib.dumps(body),
            }
            for kind, body in rows
        ],
    )
    if conn.dialect.name == "postgresql":  # wake live-update streams in other API processes
        conn.execute(sa.text("SELECT pg_notify('gennaker_events', '')"))
