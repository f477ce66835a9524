"""Pipeline templates, MPT v2 (``/v2/pipelineTemplates``). Reads answer at once; writes run as
administrative tasks, as in Gate: 202 ``{ref: "/tasks/<id>"}``, the task SUCCEEDED or TERMINAL."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from gennaker.api.admin_jobs import check_templated, run_admin_jobs
from gennaker.api.deps import ServicesDep, UserDep, csv
from gennaker.api.models import ERRORS, Ref
from gennaker.api.responses import json_response
from gennaker.errors import FieldError, InvalidInput
from gennaker.services import Services
from gennaker.templates.plan import TemplatePlanner, is_templated

router = APIRouter(prefix="/v2/pipelineTemplates", tags=["pipeline templates"], responses=ERRORS)

Tag = Annotated[str | None, Query(max_length=64, description="latest, stable, unstable, ...")]
TemplateBody = Annotated[dict[str, Any], Body(description="an MPT v2 pipeline template")]


@router.get("", response_model=list[dict[str, Any]])
def list_templates(services: ServicesDep, scopes: Annotated[str | None, Query()] = None) -> Any:
    """Every tagged template version (with tag and digest), optionally only these scopes."""
    with services.db.read() as conn:
        return services.templates.list(conn, scopes=csv(scopes))


@router.post("/plan", response_model=dict[str, Any])
def plan(
    config: Annotated[dict[str, Any], Body(description="a templated pipeline config")], services: ServicesDep
) -> Any:
    """The ordinary pipeline a templated pipeline config plans into (nothing is saved or run);
    400 with every problem at its JSON path."""
    if not is_templated(config):
        raise InvalidInput(
            "",
            [FieldError("$.type", 'must be "templatedPipeline" (with schema "v2" and a template reference)')],
        )
    with services.db.read() as conn:
        check_templated(services, conn, config)
        planned, _ = TemplatePlanner(services.templates).plan(conn, config)
    return planned


@router.get("/versions", response_model=dict[str, list[dict[str, Any]]])
def versions(services: ServicesDep, scopes: Annotated[str | None, Query()] = None) -> Any:
    """Per template id, its tagged then digest versions."""
    with services.db.read() as conn:
        return services.templates.versions(conn, scopes=csv(scopes))


@router.get("/{template_id}/dependents", response_model=list[str])
def dependents(template_id: str, services: ServicesDep, tag: Tag = None) -> Any:
    """Ids of the pipeline configs that use this template."""
    with services.db.read() as conn:
        return services.templates.dependents(conn, template_id, tag=tag)


@router.get("/{template_id}", response_model=dict[str, Any])
def get_template(
    template_id: str, services: ServicesDep, tag: Tag = None, digest: Annotated[str | None, Query()] = None
) -> Any:
    """One version by tag (default latest) or digest."""
    with services.db.read() as conn:
        return services.templates.get(conn, template_id, tag=tag, digest=digest)


def _task(services: Services, user: str | None, description: str, job: dict[str, Any]) -> Any:
    execution = run_admin_jobs(services, "spinnaker", description, [job], user=user)
    return json_response({"ref": f"/tasks/{execution.id}"}, status_code=202)


@router.post("/create", status_code=202, response_model=Ref)
def create(template: TemplateBody, services: ServicesDep, user: UserDep, tag: Tag = None) -> Any:
    """Create a template version (a Conflict task if the tag exists)."""
    job = {"type": "createV2PipelineTemplate", "pipelineTemplate": template, "tag": tag}
    return _task(services, user, "Create pipeline template", job)


@router.post("/update/{template_id}", status_code=202, response_model=Ref)
def update(
    template_id: str, template: TemplateBody, services: ServicesDep, user: UserDep, tag: Tag = None
) -> Any:
    """Save a template under a tag (moving it), creating it if needed."""
    job = {
        "type": "updateV2PipelineTemplate",
        "pipelineTemplate": {**template, "id": template_id},
        "tag": tag,
    }
    return _task(services, user, "Update pipeline template", job)


@router.delete("/{template_id}", status_code=202, response_model=Ref)
def delete(
    template_id: str,
    services: ServicesDep,
    user: UserDep,
    tag: Tag = None,
    digest: Annotated[str | None, Query()] = None,
) -> Any:
    """Delete one tag, one digest version, or every version of a template."""
    job = {
        "type": "deleteV2PipelineTemplate",
        "pipelineTemplateId": template_id,
        "tag": tag,
        "digest": digest,
    }
    return _task(services, user, "Delete pipeline template", job)
