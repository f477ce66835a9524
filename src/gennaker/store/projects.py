"""Projects (Front50's ProjectDAO and v2 ProjectsController): a project groups applications,
clusters and pipelines for Deck's project dashboard.

Stored and returned as Front50's Project JSON::

    {"id": "...", "name": "checkout", "email": "team@example.com",
     "config": {"applications": ["shop", "cart"],
                "clusters": [{"account": "prod", "stack": "web", "detail": null,
                              "applications": ["shop"]}],
                "pipelineConfigs": [{"application": "shop", "pipelineConfigId": "..."}]},
     "createTs": 1700000000000, "updateTs": 1700000000000, "lastModifiedBy": "alice"}

Unknown keys are kept. Names are unique regardless of case (Front50 refuses "A Project named 'x'
already exists"); a project is found by name first, then by id, as Front50's ``GET`` does.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker.clock import Clock
from gennaker.errors import Conflict, FieldError, InvalidInput, NotFound
from gennaker.model.ids import new_uuid
from gennaker.store import json as jsonlib
from gennaker.store.schema import projects as projects_t

Json = dict[str, Any]
ANONYMOUS = "anonymous"
_CONFIG_LISTS = ("applications", "clusters", "pipelineConfigs")


def validate_project(project: object) -> Json:
    """The project with its ``config`` lists present; InvalidInput naming each bad field."""
    if not isinstance(project, dict):
        raise InvalidInput("a project must be a JSON object")
    errors: list[FieldError] = []
    name = project.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append(FieldError("$.name", "is required"))
    elif len(name) > 255:
        errors.append(FieldError("$.name", "must be at most 255 characters"))
    if project.get("email") is not None and not isinstance(project.get("email"), str):
        errors.append(FieldError("$.email", "must be a string"))
    config = project.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        errors.append(FieldError("$.config", "must be an object"))
        raise InvalidInput("", errors)
    config = dict(config)
    for key in _CONFIG_LISTS:
        value = config.get(key)
        if value is None:
            config[key] = []
        elif not isinstance(value, list):
            errors.append(FieldError(f"$.config.{key}", "must be a list"))
    for index, app in enumerate(config.get("applications") or []):
        if not isinstance(app, str) or not app:
            errors.append(FieldError(f"$.config.applications[{index}]", "must be an application name"))
    for index, cluster in enumerate(config.get("clusters") or []):
        path = f"$.config.clusters[{index}]"
        if not isinstance(cluster, dict):
            errors.append(FieldError(path, "must be an object {account, stack, detail, applications}"))
        elif not isinstance(cluster.get("account"), str) or not cluster["account"]:
            errors.append(FieldError(f"{path}.account", "is required"))
        elif cluster.get("applications") is not None and not isinstance(cluster["applications"], list):
            errors.append(FieldError(f"{path}.applications", "must be a list of application names"))
    for index, pipeline in enumerate(config.get("pipelineConfigs") or []):
        path = f"$.config.pipelineConfigs[{index}]"
        if not isinstance(pipeline, dict):
            errors.append(FieldError(path, "must be an object {application, pipelineConfigId}"))
            continue
        for key in ("application", "pipelineConfigId"):
            if not isinstance(pipeline.get(key), str) or not pipeline[key]:
                errors.append(FieldError(f"{path}.{key}", "is required"))
    if errors:
        raise InvalidInput("", errors)
    out = dict(project)
    out["name"] = str(name).strip()
    out["config"] = config
    return out


class ProjectRepository:
    """Reads and writes projects inside the caller's transaction."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def list(self, conn: Connection) -> list[Json]:
        """Every project, by name."""
        rows = conn.execute(sa.select(projects_t.c.body).order_by(projects_t.c.name_key))
        return [jsonlib.loads(body) for (body,) in rows]

    def find(self, conn: Connection, name_or_id: str) -> Json | None:
        """A project by name (any case), else by id."""
        body = conn.execute(
            sa.select(projects_t.c.body).where(projects_t.c.name_key == name_or_id.strip().lower())
        ).scalar()
        if body is None:
            body = conn.execute(sa.select(projects_t.c.body).where(projects_t.c.id == name_or_id)).scalar()
        return None if body is None else dict(jsonlib.loads(body))

    def get(self, conn: Connection, name_or_id: str) -> Json:
        """A project by name or id; NotFound if absent."""
        found = self.find(conn, name_or_id)
        if found is None:
            raise NotFound(f"Project not found (name or id: {name_or_id})")
        return found

    def create(self, conn: Connection, project: object, *, user: str | None = None) -> Json:
        """Store a new project (a new id unless one is given); Conflict if the name is taken."""
        body = validate_project(project)
        self._refuse_taken_name(conn, body["name"], None)
        project_id = body.get("id") if isinstance(body.get("id"), str) and body.get("id") else new_uuid()
        if conn.execute(sa.select(projects_t.c.id).where(projects_t.c.id == project_id)).first():
            raise Conflict(f"A Project with id '{project_id}' already exists")
        now = self._clock.now_ms()
        body.update(id=project_id, createTs=now, updateTs=now, lastModifiedBy=user or ANONYMOUS)
        conn.execute(
            projects_t.insert().values(
                id=project_id, name_key=body["name"].lower(), body=jsonlib.dumps(body), updated_at=now
            )
        )
        return body

    def update(self, conn: Connection, project_id: str, project: object, *, user: str | None = None) -> Json:
        """Replace an existing project (Front50's ``PUT``: it keeps its id and createTs)."""
        existing = self._by_id(conn, project_id)
        body = validate_project(project)
        self._refuse_taken_name(conn, body["name"], project_id)
        now = self._clock.now_ms()
        body.update(
            id=project_id,
            createTs=existing.get("createTs", now),
            updateTs=now,
            lastModifiedBy=user or ANONYMOUS,
        )
        conn.execute(
            projects_t.update()
            .where(projects_t.c.id == project_id)
            .values(name_key=body["name"].lower(), body=jsonlib.dumps(body), updated_at=now)
        )
        return body

    def upsert(self, conn: Connection, project: object, *, user: str | None = None) -> Json:
        """Update the project with the given id, or create it (Orca's UpsertProjectTask)."""
        project_id = project.get("id") if isinstance(project, dict) else None
        if isinstance(project_id, str) and project_id and self._find_by_id(conn, project_id):
            return self.update(conn, project_id, project, user=user)
        return self.create(conn, project, user=user)

    def delete(self, conn: Connection, project_id: str) -> bool:
        """Delete a project by id (or name); False if there was none."""
        found = self.find(conn, project_id)
        if found is None:
            return False
        conn.execute(projects_t.delete().where(projects_t.c.id == found["id"]))
        return True

    def _find_by_id(self, conn: Connection, project_id: str) -> Json | None:
        body = conn.execute(sa.select(projects_t.c.body).where(projects_t.c.id == project_id)).scalar()
        return None if body is None else dict(jsonlib.loads(body))

    def _by_id(self, conn: Connection, project_id: str) -> Json:
        found = self._find_by_id(conn, project_id)
        if found is None:
            raise NotFound(f"Project not found (id: {project_id})")
        return found

    def _refuse_taken_name(self, conn: Connection, name: str, own_id: str | None) -> None:
        holder = conn.execute(
            sa.select(projects_t.c.id).where(projects_t.c.name_key == name.lower())
        ).scalar()
        if holder is not None and holder != own_id:
            raise Conflict(f"A Project named '{name}' already exists")
