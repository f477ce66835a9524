"""Response and request models for the OpenAPI document (the JSON itself is Spinnaker's, built by the
model and store layers; these describe it)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class FieldProblem(BaseModel):
    """One validation problem and where it is."""

    path: str
    message: str


class ErrorBody(BaseModel):
    """Gate's error document."""

    timestamp: int
    status: int
    error: str
    message: str
    errors: list[FieldProblem] | None = None


class Ref(BaseModel):
    """Where to find what was started: ``/pipelines/<id>`` or ``/tasks/<id>``."""

    ref: str


class EventRef(BaseModel):
    """Deck's v2 start: the event id and the pre-generated execution ref."""

    eventId: str
    ref: str


class Valid(BaseModel):
    """``POST /pipelines/validate`` on a valid config."""

    valid: bool


class Variable(BaseModel):
    """A ``{key, value}`` pair of a task's merged stage contexts."""

    key: str
    value: Any = None


class TaskView(BaseModel):
    """Gate's ``GET /tasks/{id}``."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str | None = None
    application: str
    status: str
    variables: list[Variable] = Field(default_factory=list)
    steps: list[dict[str, Any]] = Field(default_factory=list)
    buildTime: int | None = None
    startTime: int | None = None
    endTime: int | None = None
    execution: dict[str, Any]


class TaskRequest(BaseModel):
    """Gate's ``POST /tasks``: an application, a description and the jobs to run in order."""

    model_config = ConfigDict(extra="allow")

    application: str | None = None
    description: str | None = None
    job: list[dict[str, Any]]


class Trigger(BaseModel):
    """A manual trigger (``POST /pipelines/{app}/{nameOrId}``); other keys are kept."""

    model_config = ConfigDict(extra="allow")

    type: str | None = None
    user: str | None = None
    parameters: dict[str, Any] | None = None
    artifacts: list[Any] | None = None
    notifications: list[Any] | None = None
    dryRun: bool | None = None


def _error(description: str) -> dict[str, Any]:
    # A reference rather than ``"model": ErrorBody``: FastAPI builds a pydantic serializer for every
    # route's every response model at start-up (three per route here) and never uses these, since
    # the error handlers write the body. ``add_error_schemas`` puts ErrorBody into the document.
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ERROR_REF}}}}


ERROR_REF = "#/components/schemas/ErrorBody"
ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("invalid input"),
    404: _error("not found"),
    409: _error("conflicts with the current state"),
}


def add_error_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """Put ErrorBody (and what it refers to) into an OpenAPI document's components."""
    schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas.setdefault("ErrorBody", schema)
    return document
