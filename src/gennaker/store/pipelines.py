"""Pipeline configs and strategies with their revision history (Front50's PipelineDAO and
PipelineStrategyDAO; one repository per kind, same code).

The stored body is exactly the JSON given, key order included, plus what Front50 sets: ``id``
(a new UUID when the body has none; a given id that is unknown creates the config under that
id, as Front50 does), ``name`` (trimmed), ``updateTs`` (epoch ms as a string) and
``lastModifiedBy`` (the user, or ``anonymous``). Like Front50, a cron trigger without an ``id``
gets one, and every cron trigger gets a fresh one when a config is created without an id (a
copied pipeline must not share its cron schedule ids) or when the body says
``regenerateCronTriggerIds``.

Every save also writes the saved body as a new revision (``pipeline_config_revisions``), so the
history holds every version, newest first, the current one included. Full validation of the
stage graph is not done here: Front50 does not do it either, and callers that want it run
``gennaker.model.pipeline.check_pipeline`` before saving.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker.clock import Clock
from gennaker.errors import Conflict, FieldError, InvalidInput, NotFound
from gennaker.model.ids import new_uuid
from gennaker.store import json as jsonlib
from gennaker.store.schema import pipeline_config_revisions as rev_t
from gennaker.store.schema import pipeline_configs as cfg_t

Json = dict[str, Any]

PIPELINE = "pipeline"
STRATEGY = "strategy"
#: Width of the id, name and application columns (Front50's SQL backend uses the same).
MAX_FIELD_LENGTH = 255
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class PipelineRevision:
    """One saved version of a config."""

    config_id: str
    revision: int
    saved_at: int
    saved_by: str | None
    body: Json


class _Current(NamedTuple):
    kind: str
    revision: int
    body: str


class PipelineConfigRepository:
    """Reads and writes configs of one kind (``pipeline`` or ``strategy``) in the caller's transaction."""

    def __init__(self, clock: Clock, *, kind: str = PIPELINE) -> None:
        if kind not in (PIPELINE, STRATEGY):
            raise ValueError(f"unknown config kind {kind!r}")
        self._clock = clock
        self.kind = kind

    @property
    def _noun(self) -> str:
        return self.kind

    # -- writes ----------------------------------------------------------------------------------

    def save(
        self,
        conn: Connection,
        config: object,
        *,
        user: str | None = None,
        stale_check: bool = False,
        expected_revision: int | None = None,
    ) -> Json:
        """Create or update (by ``id``) a config and record the new revision; returns the stored body.

        ``stale_check`` is Front50's ``?staleCheck=true``: when the body carries ``updateTs`` and
        the config exists, the stored ``updateTs`` must be the same. ``expected_revision`` must
        equal the stored revision (0 for a config that does not exist yet). Either mismatch is a
        Conflict and nothing is written.
        """
        body = _checked(config, stale_check)
        config_id = body.get("id") or None
        row = self._locked_row(conn, config_id) if config_id else None
        if row is not None and row.kind != self.kind:
            raise Conflict(f"id {config_id} belongs to a {row.kind}, not a {self.kind}")
        current = 0 if row is None else int(row.revision)
        if expected_revision is not None and expected_revision != current:
            raise Conflict(
                f"{self._noun} {config_id} is at revision {current}, not {expected_revision}: "
                "it was changed by someone else; reload it and save again"
            )
        if stale_check and row is not None and body.get("updateTs") is not None:
            stored = jsonlib.loads(row.body).get("updateTs")
            if stored is None or int(str(stored)) != int(str(body["updateTs"])):
                raise Conflict(
                    f"The submitted {self._noun} is stale. submitted updateTs {body['updateTs']} "
                    f"does not match stored updateTs {stored}"
                )
        self._check_unique_name(conn, body, config_id)
        _ensure_cron_trigger_ids(
            body, regenerate=config_id is None or body.get("regenerateCronTriggerIds") is True
        )
        now = self._clock.now_ms()
        if config_id is None:
            config_id = new_uuid()
            body = {"id": config_id, **{k: v for k, v in body.items() if k != "id"}}
        body["updateTs"] = str(now)
        body["lastModifiedBy"] = user or ANONYMOUS
        text = encode_document(body)
        columns = {
            "application": body["application"].strip().lower(),
            "name": body["name"],
            "name_key": body["name"].lower(),
            "kind": self.kind,
            "body": text,
            "revision": current + 1,
            "updated_at": now,
            "updated_by": user,
        }
        # A savepoint keeps the caller's transaction usable when a concurrent save wins the race
        # for the name (PostgreSQL aborts the whole transaction on a constraint violation).
        try:
            with conn.begin_nested():
                if row is None:
                    conn.execute(cfg_t.insert().values(id=config_id, **columns))
                else:
                    conn.execute(cfg_t.update().where(cfg_t.c.id == config_id).values(**columns))
                conn.execute(
                    rev_t.insert().values(
                        config_id=config_id, revision=current + 1, body=text, saved_at=now, saved_by=user
                    )
                )
        except sa.exc.IntegrityError as exc:
            raise Conflict(
                f"{self._noun} {body['name']!r} in application {body['application']} was saved concurrently; "
                "reload and save again"
            ) from exc
        return body

    def restore(self, conn: Connection, config_id: str, revision: int, *, user: str | None = None) -> Json:
        """Save an old revision's body as the newest revision; returns the stored body."""
        old = self.get_revision(conn, config_id, revision)
        return self.save(conn, dict(old.body), user=user)

    def delete(self, conn: Connection, config_id: str) -> bool:
        """Remove a config and its history; False if there was none."""
        deleted = conn.execute(
            cfg_t.delete().where(cfg_t.c.id == config_id, cfg_t.c.kind == self.kind)
        ).rowcount
        if deleted:
            conn.execute(rev_t.delete().where(rev_t.c.config_id == config_id))
        return bool(deleted)

    def delete_by_name(self, conn: Connection, application: str, name: str) -> bool:
        """Remove the config of this application and name (any case); False if there was none."""
        config_id = self._id_for_name(conn, application, name)
        return config_id is not None and self.delete(conn, config_id)

    def _locked_row(self, conn: Connection, config_id: str) -> _Current | None:
        query = sa.select(cfg_t.c.kind, cfg_t.c.revision, cfg_t.c.body).where(cfg_t.c.id == config_id)
        if conn.dialect.name == "postgresql":
            # Concurrent saves of one config take turns, so each sees the other's revision.
            query = query.with_for_update()
        row = conn.execute(query).first()
        return None if row is None else _Current(row.kind, row.revision, row.body)

    def _check_unique_name(self, conn: Connection, body: Json, config_id: str | None) -> None:
        clash = self._id_for_name(conn, body["application"], body["name"])
        if clash is not None and clash != config_id:
            raise Conflict(
                f"A {self._noun} with name {body['name']} already exists in application "
                f"{body['application']} (id {clash})"
            )

    def _id_for_name(self, conn: Connection, application: str, name: str) -> str | None:
        return conn.execute(
            sa.select(cfg_t.c.id).where(
                cfg_t.c.application == application.strip().lower(),
                cfg_t.c.kind == self.kind,
                cfg_t.c.name_key == name.strip().lower(),
            )
        ).scalar()

    # -- reads -----------------------------------------------------------------------------------

    def get(self, conn: Connection, config_id: str) -> Json:
        """One config by id; NotFound if absent."""
        found = self.find(conn, config_id)
        if found is None:
            raise NotFound(f"No {self._noun} found with id {config_id}")
        return found

    def find(self, conn: Connection, config_id: str) -> Json | None:
        """One config by id, or None."""
        text = conn.execute(
            sa.select(cfg_t.c.body).where(cfg_t.c.id == config_id, cfg_t.c.kind == self.kind)
        ).scalar()
        return None if text is None else dict(jsonlib.loads(text))

    def get_by_name(self, conn: Connection, application: str, name: str) -> Json:
        """One config by application and name, both ignoring case; NotFound if absent."""
        config_id = self._id_for_name(conn, application, name)
        found = None if config_id is None else self.find(conn, config_id)
        if found is None:
            raise NotFound(f"No {self._noun} found with application {application}, name {name}")
        return found

    def revision_of(self, conn: Connection, config_id: str) -> int | None:
        """The current revision number of a config, or None if it does not exist."""
        return conn.execute(
            sa.select(cfg_t.c.revision).where(cfg_t.c.id == config_id, cfg_t.c.kind == self.kind)
        ).scalar()

    def list_by_application(
        self, conn: Connection, application: str, *, name_filter: str | None = None
    ) -> list[Json]:
        """An application's configs in Front50's order: by ``index`` (configs without one last), then name.

        As Front50's ``listByApplication`` does, the returned bodies carry ``index`` renumbered
        0, 1, 2... in that order (the stored bodies are not changed). ``name_filter`` keeps the
        names that contain it, ignoring case (``?pipelineNameFilter=``).
        """
        stmt = sa.select(cfg_t.c.body).where(
            cfg_t.c.application == application.strip().lower(), cfg_t.c.kind == self.kind
        )
        if name_filter:
            stmt = stmt.where(cfg_t.c.name_key.contains(name_filter.lower(), autoescape=True))
        configs = [jsonlib.loads(r.body) for r in conn.execute(stmt)]
        configs.sort(key=_front50_order)
        for position, config in enumerate(configs):
            config["index"] = position
        return configs

    def list_all(self, conn: Connection) -> list[Json]:
        """Every config of this kind (in no particular order)."""
        return [
            jsonlib.loads(r.body)
            for r in conn.execute(sa.select(cfg_t.c.body).where(cfg_t.c.kind == self.kind))
        ]

    def list_triggerable(self, conn: Connection) -> list[Json]:
        """Configs not disabled that have an enabled trigger (what trigger matching scans)."""
        return [c for c in self.list_all(conn) if c.get("disabled") is not True and _has_enabled_trigger(c)]

    def history(
        self, conn: Connection, config_id: str, *, limit: int | None = None
    ) -> list[PipelineRevision]:
        """Saved versions of a config, newest first (the current one first)."""
        stmt = (
            sa.select(rev_t.c.revision, rev_t.c.saved_at, rev_t.c.saved_by, rev_t.c.body)
            .where(rev_t.c.config_id == config_id, rev_t.c.config_id.in_(self._ids_of_kind()))
            .order_by(rev_t.c.revision.desc())
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        return [
            PipelineRevision(config_id, r.revision, r.saved_at, r.saved_by, jsonlib.loads(r.body))
            for r in conn.execute(stmt)
        ]

    def get_revision(self, conn: Connection, config_id: str, revision: int) -> PipelineRevision:
        """One saved version of a config; NotFound if there is no such revision."""
        row = conn.execute(
            sa.select(rev_t.c.saved_at, rev_t.c.saved_by, rev_t.c.body).where(
                rev_t.c.config_id == config_id,
                rev_t.c.revision == revision,
                rev_t.c.config_id.in_(self._ids_of_kind()),
            )
        ).first()
        if row is None:
            raise NotFound(f"{self._noun} {config_id} has no revision {revision}")
        return PipelineRevision(config_id, revision, row.saved_at, row.saved_by, jsonlib.loads(row.body))

    def _ids_of_kind(self) -> sa.Select[tuple[str]]:
        return sa.select(cfg_t.c.id).where(cfg_t.c.kind == self.kind)


def _checked(config: object, stale_check: bool) -> Json:
    """A shallow copy of a config with its name trimmed; InvalidInput naming every bad field."""
    if not isinstance(config, dict):
        raise InvalidInput("", [FieldError("$", "a pipeline config must be a JSON object")])
    errors = []
    for key in ("name", "application"):
        value = config.get(key)
        if not isinstance(value, str) or not value.strip():
            errors.append(FieldError(f"$.{key}", "is required (a non-empty string)"))
        elif len(value.strip()) > MAX_FIELD_LENGTH or len(value.strip().lower()) > MAX_FIELD_LENGTH:
            errors.append(FieldError(f"$.{key}", f"must be at most {MAX_FIELD_LENGTH} characters"))
    config_id = config.get("id")
    if config_id is not None and config_id != "":
        if not isinstance(config_id, str):
            errors.append(FieldError("$.id", "must be a string"))
        elif len(config_id) > MAX_FIELD_LENGTH:
            errors.append(FieldError("$.id", f"must be at most {MAX_FIELD_LENGTH} characters"))
    update_ts = config.get("updateTs")
    if stale_check and update_ts is not None and not str(update_ts).strip().lstrip("-").isdigit():
        errors.append(FieldError("$.updateTs", "must be epoch milliseconds"))
    if errors:
        raise InvalidInput("", errors)
    body = dict(config)
    body["name"] = str(config["name"]).strip()
    return body


def encode_document(body: Json) -> str:
    """A document as stored JSON text; InvalidInput when JSON cannot hold it (integers past 64 bits)."""
    try:
        return jsonlib.dumps(body)
    except orjson.JSONEncodeError as exc:
        raise InvalidInput("", [FieldError("$", f"cannot be stored as JSON: {exc}")]) from exc


def _ensure_cron_trigger_ids(body: Json, *, regenerate: bool) -> None:
    """Front50's ensureCronTriggersHaveIdentifier (the scheduler keys cron firings by trigger id)."""
    triggers = body.get("triggers")
    if not isinstance(triggers, list):
        return
    updated = []
    for trigger in triggers:
        if (
            isinstance(trigger, dict)
            and str(trigger.get("type", "")).lower() == "cron"
            and (regenerate or not trigger.get("id"))
        ):
            trigger = {**trigger, "id": new_uuid()}
        updated.append(trigger)
    body["triggers"] = updated


def _front50_order(config: Json) -> tuple[int, int, str]:
    index = config.get("index")
    name = str(config.get("name") or config.get("id") or "").lower()
    if isinstance(index, int) and not isinstance(index, bool):
        return (0, index, name)
    return (1, 0, name)


def _has_enabled_trigger(config: Json) -> bool:
    triggers = config.get("triggers")
    if not isinstance(triggers, list):
        return False
    return any(isinstance(t, dict) and t.get("enabled") in (True, "true") for t in triggers)
