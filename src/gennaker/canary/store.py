"""Canary configs, metric set pair lists and canary executions in the one database (Kayenta keeps
them in its configuration and object stores; here they are rows next to everything else)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker.errors import InvalidInput, NotFound
from gennaker.store import json as jsonlib
from gennaker.store.schema import canary_configs as cfg_t
from gennaker.store.schema import canary_executions as exe_t
from gennaker.store.schema import canary_metric_set_pair_lists as pairs_t

Json = dict[str, Any]


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds as Java's Instant.toString() writes them."""
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if ms % 1000:
        text += f".{ms % 1000:03d}"
    return text + "Z"


class CanaryConfigRepository:
    """Canary configs by id; names are unique within each application, as Kayenta's stores keep them."""

    def create(self, conn: Connection, config: Json, now_ms: int) -> Json:
        """Store a new config (stamping its times); a taken id or name is a 400, as in Kayenta."""
        if conn.execute(sa.select(cfg_t.c.id).where(cfg_t.c.id == config["id"])).first():
            raise InvalidInput(f"Canary config '{config['id']}' already exists.")
        self._check_name(conn, config, None)
        created = config.get("createdTimestamp")
        created = created if isinstance(created, int) and not isinstance(created, bool) else now_ms
        updated = config.get("updatedTimestamp")
        updated = updated if isinstance(updated, int) and not isinstance(updated, bool) else created
        body = _stamped(config, created, updated)
        conn.execute(
            cfg_t.insert().values(
                id=body["id"],
                name=body["name"],
                applications=jsonlib.dumps(body["applications"]),
                body=jsonlib.dumps(body),
                created_at=created,
                updated_at=updated,
            )
        )
        return body

    def update(self, conn: Connection, config_id: str, config: Json, now_ms: int) -> Json:
        """Replace an existing config (its creation time kept, unless the body gives one)."""
        row = conn.execute(sa.select(cfg_t.c.created_at).where(cfg_t.c.id == config_id)).first()
        if row is None:
            raise InvalidInput(f"Canary config '{config_id}' does not exist.")
        config = {**config, "id": config.get("id") or config_id}
        self._check_name(conn, config, config_id)
        created = config.get("createdTimestamp")
        created = created if isinstance(created, int) and not isinstance(created, bool) else row.created_at
        body = _stamped(config, created, now_ms)
        conn.execute(
            cfg_t.update()
            .where(cfg_t.c.id == config_id)
            .values(
                name=body["name"],
                applications=jsonlib.dumps(body["applications"]),
                body=jsonlib.dumps(body),
                updated_at=now_ms,
            )
        )
        return body

    def _check_name(self, conn: Connection, config: Json, own_id: str | None) -> None:
        apps = set(config.get("applications") or [])
        rows = conn.execute(
            sa.select(cfg_t.c.id, cfg_t.c.applications).where(cfg_t.c.name == config["name"])
        ).all()
        for row in rows:
            if row.id == own_id:
                continue
            shared = apps & set(jsonlib.loads(row.applications))
            if shared:
                raise InvalidInput(
                    f"Canary config with name '{config['name']}' already exists in the scope of "
                    f"applications {sorted(shared)}."
                )

    def get(self, conn: Connection, config_id: str) -> Json:
        """One config, or NotFound."""
        row = conn.execute(sa.select(cfg_t.c.body).where(cfg_t.c.id == config_id)).first()
        if row is None:
            raise NotFound(f"No canary config with id '{config_id}'.")
        body: Json = jsonlib.loads(row.body)
        return body

    def delete(self, conn: Connection, config_id: str) -> None:
        """Remove a config; NotFound if there is none."""
        if conn.execute(cfg_t.delete().where(cfg_t.c.id == config_id)).rowcount == 0:
            raise NotFound(f"No canary config with id '{config_id}'.")

    def list(self, conn: Connection, applications: list[str] | None = None) -> list[Json]:
        """Kayenta's listing: id, name, updated time and applications, filtered by application."""
        rows = conn.execute(
            sa.select(cfg_t.c.id, cfg_t.c.name, cfg_t.c.applications, cfg_t.c.updated_at).order_by(
                cfg_t.c.name, cfg_t.c.id
            )
        ).all()
        wanted = set(applications or [])
        listed = []
        for row in rows:
            apps = jsonlib.loads(row.applications)
            if wanted and not wanted & set(apps):
                continue
            listed.append(
                {
                    "id": row.id,
                    "name": row.name,
                    "updatedTimestamp": row.updated_at,
                    "updatedTimestampIso": iso(row.updated_at),
                    "applications": apps,
                }
            )
        return listed


def _stamped(config: Json, created: int, updated: int) -> Json:
    body = dict(config)
    body["createdTimestamp"] = created
    body["updatedTimestamp"] = updated
    body["createdTimestampIso"] = iso(created)
    body["updatedTimestampIso"] = iso(updated)
    return body


class MetricSetPairListRepository:
    """Lists of metric set pairs by id."""

    def save(self, conn: Connection, list_id: str, pairs: list[Json], now_ms: int) -> None:
        """Store a list under an id."""
        conn.execute(pairs_t.insert().values(id=list_id, body=jsonlib.dumps(pairs), created_at=now_ms))

    def get(self, conn: Connection, list_id: str) -> list[Json]:
        """One list, or NotFound."""
        row = conn.execute(sa.select(pairs_t.c.body).where(pairs_t.c.id == list_id)).first()
        if row is None:
            raise NotFound(f"No metric set pair list with id '{list_id}'.")
        body: list[Json] = jsonlib.loads(row.body)
        return body

    def delete(self, conn: Connection, list_id: str) -> None:
        """Remove a list; NotFound if there is none."""
        if conn.execute(pairs_t.delete().where(pairs_t.c.id == list_id)).rowcount == 0:
            raise NotFound(f"No metric set pair list with id '{list_id}'.")

    def list(self, conn: Connection) -> list[Json]:
        """Ids and creation times."""
        rows = conn.execute(
            sa.select(pairs_t.c.id, pairs_t.c.created_at).order_by(pairs_t.c.created_at)
        ).all()
        return [{"id": r.id, "createdTimestamp": r.created_at} for r in rows]


class CanaryExecutionRepository:
    """Canary runs and standalone analyses, each one document in Kayenta's status-response shape."""

    def save(self, conn: Connection, kind: str, body: Json, now_ms: int) -> None:
        """Insert or replace a run."""
        values = {
            "kind": kind,
            "application": body.get("application"),
            "config_id": body.get("canaryConfigId"),
            "parent_execution_id": body.get("parentPipelineExecutionId"),
            "status": str(body.get("status") or "running"),
            "body": jsonlib.dumps(body),
        }
        key = body["pipelineId"]
        updated = conn.execute(exe_t.update().where(exe_t.c.id == key).values(**values)).rowcount
        if not updated:
            conn.execute(exe_t.insert().values(id=key, created_at=now_ms, **values))

    def get(self, conn: Connection, kind: str, execution_id: str) -> Json:
        """One run, or NotFound."""
        row = conn.execute(
            sa.select(exe_t.c.body).where(exe_t.c.id == execution_id, exe_t.c.kind == kind)
        ).first()
        if row is None:
            noun = "canary execution" if kind == "canary" else "canary analysis execution"
            raise NotFound(f"No {noun} with id '{execution_id}'.")
        body: Json = jsonlib.loads(row.body)
        return body

    def list(
        self,
        conn: Connection,
        kind: str,
        application: str | None,
        *,
        limit: int = 20,
        page: int = 1,
        statuses: list[str] | None = None,
    ) -> list[Json]:
        """Newest first, a page at a time."""
        query = sa.select(exe_t.c.body).where(exe_t.c.kind == kind)
        if application:
            query = query.where(exe_t.c.application == application)
        if statuses:
            query = query.where(exe_t.c.status.in_([s.lower() for s in statuses]))
        query = query.order_by(exe_t.c.created_at.desc(), exe_t.c.id.desc())
        query = query.limit(max(1, limit)).offset(max(0, page - 1) * max(1, limit))
        return [jsonlib.loads(r.body) for r in conn.execute(query).all()]
