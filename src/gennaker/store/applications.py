"""Applications (Front50's ApplicationDAO + ApplicationService).

The JSON an application is stored and returned as is Front50's flat application object, which is
also what Gate's ``GET /applications`` lists::

    {"name": "shop", "email": "team@example.com", "description": "...",
     "cloudProviders": "kubernetes,aws", ..., "createTs": "1700000000000",
     "updateTs": "1700000000000", "lastModifiedBy": "alice"}

Every attribute given is kept with its value and key order, unknown ones included;
``cloudProviders`` stays a string or a list, as given. Two things differ from Front50 on
purpose: names are stored and returned lower-case (Gate lower-cases them anyway; Front50's
upper-casing is historical), and ``createTs``/``updateTs``/``lastModifiedBy`` are always set by
the store. Gate's ``GET /applications/{app}`` wraps the same object as
``{"name", "attributes": {...}, "clusters": {...}}``; ``as_gate_application`` builds that.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker.clock import Clock
from gennaker.errors import Conflict, FieldError, InvalidInput, NotFound
from gennaker.model.permissions import parse_permissions
from gennaker.store import json as jsonlib
from gennaker.store.pipelines import encode_document
from gennaker.store.schema import applications as app_t
from gennaker.store.schema import pipeline_config_revisions as rev_t
from gennaker.store.schema import pipeline_configs as cfg_t

Json = dict[str, Any]

#: The name column's width (Front50's SQL backend uses the same).
MAX_NAME_LENGTH = 255
#: Frigga's name characters with the hyphen (com.netflix.frigga.NameConstants.NAME_HYPHEN_CHARS):
#: names that cluster and server group names can start with, and that a URL path carries as is.
_APP_NAME_RE = re.compile(r"[-a-zA-Z0-9._]+")
ANONYMOUS = "anonymous"

#: Orca's UpsertApplicationTask (ApplicationNameValidator): per cloud provider, the longest name
#: and the characters allowed. Checked only for the providers an application lists.
CLOUD_PROVIDER_NAME_RULES: dict[str, tuple[int, str]] = {
    "appengine": (58, r"[a-z0-9]*"),
    "aws": (250, r"[a-zA-Z_0-9.]*"),
    "dcos": (127, r"[a-z0-9]*"),
    "gce": (63, r"([a-zA-Z][a-zA-Z0-9]*)?"),
    "kubernetes": (63, r"[a-zA-Z][a-zA-Z0-9-]*"),
    "openstack": (250, r"[a-zA-Z_0-9.]*"),
    "titus": (250, r"[a-zA-Z_0-9.]*"),
    "tencentcloud": (50, "[a-zA-Z_0-9.\u4e00-\u9fa5-]*"),
}
# Front50 keeps these when a PATCH leaves them null (ApplicationService.saveInternal).
_KEEP_WHEN_NULL = ("description", "email", "cloudProviders")
_STORE_OWNED = ("createTs", "updateTs", "lastModifiedBy")


def as_gate_application(application: Json, clusters: Json | None = None) -> Json:
    """Gate's ``GET /applications/{app}`` shape, ``{name, attributes, clusters}``; null attributes dropped."""
    attributes = {k: v for k, v in application.items() if v is not None}
    return {"name": application["name"], "attributes": attributes, "clusters": clusters or {}}


def cloud_providers(application: Json) -> list[str]:
    """The cloud providers an application lists (``"kubernetes,aws"`` or a list)."""
    value = application.get("cloudProviders")
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return [item.strip() for item in items if isinstance(item, str) and item.strip()]


class ApplicationRepository:
    """Reads and writes applications inside the caller's transaction.

    ``name_pattern`` is Front50's optional ``validation.application-name-validator.validation-regex``
    (a full match); ``name_message`` its ``validation-message``.
    """

    def __init__(
        self, clock: Clock, *, name_pattern: str | None = None, name_message: str | None = None
    ) -> None:
        self._clock = clock
        self._name_pattern = re.compile(name_pattern) if name_pattern else None
        self._name_message = name_message

    # -- writes ----------------------------------------------------------------------------------

    def create(self, conn: Connection, application: Json, *, user: str | None = None) -> Json:
        """Store a new application (Front50 ``POST /v2/applications``); Conflict if the name is taken."""
        body = self._validated(application)
        if self._row(conn, body["name"]) is not None:
            raise Conflict(f"application {body['name']} already exists")
        return self._insert(conn, body, user)

    def upsert(self, conn: Connection, application: Json, *, user: str | None = None) -> Json:
        """Create, or merge into the existing application (Orca's UpsertApplicationTask)."""
        name = _name_key(application)
        if name is not None and self._row(conn, name) is not None:
            return self.update(conn, name, application, user=user)
        return self._insert(conn, self._validated(application), user)

    def update(self, conn: Connection, name: str, attributes: Json, *, user: str | None = None) -> Json:
        """Merge attributes into an application (Front50 ``PATCH``): absent keys keep their values."""
        _require_object(attributes)
        existing = self.get(conn, name)
        self._check_same_name(existing["name"], attributes)
        merged = dict(existing)
        for key, value in attributes.items():
            if key in _STORE_OWNED or key == "name" or (value is None and key in _KEEP_WHEN_NULL):
                continue
            merged[key] = value
        return self._rewrite(conn, merged, existing, user)

    def replace(self, conn: Connection, name: str, application: Json, *, user: str | None = None) -> Json:
        """Replace every attribute of an application (Front50 ``PUT``); createTs is kept."""
        _require_object(application)
        existing = self.get(conn, name)
        self._check_same_name(existing["name"], application)
        replaced = {k: v for k, v in application.items() if k not in _STORE_OWNED}
        replaced["name"] = existing["name"]
        return self._rewrite(conn, replaced, existing, user)

    def delete(self, conn: Connection, name: str) -> bool:
        """Remove an application with its pipeline and strategy configs (as Front50 does); False if absent."""
        key = name.strip().lower()
        config_ids = sa.select(cfg_t.c.id).where(cfg_t.c.application == key)
        conn.execute(rev_t.delete().where(rev_t.c.config_id.in_(config_ids)))
        conn.execute(cfg_t.delete().where(cfg_t.c.application == key))
        return bool(conn.execute(app_t.delete().where(app_t.c.name == key)).rowcount)

    def _insert(self, conn: Connection, body: Json, user: str | None) -> Json:
        now = self._clock.now_ms()
        for key in _STORE_OWNED:
            body.pop(key, None)
        body.update(createTs=str(now), updateTs=str(now), lastModifiedBy=user or ANONYMOUS)
        text = encode_document(body)
        # A savepoint keeps the caller's transaction usable if a concurrent create wins the name.
        try:
            with conn.begin_nested():
                conn.execute(
                    app_t.insert().values(name=body["name"], body=text, created_at=now, updated_at=now)
                )
        except sa.exc.IntegrityError as exc:
            raise Conflict(f"application {body['name']} already exists") from exc
        return body

    def _rewrite(self, conn: Connection, body: Json, existing: Json, user: str | None) -> Json:
        body = self._validated(body)
        now = self._clock.now_ms()
        body["createTs"] = existing.get("createTs")
        body["updateTs"] = str(now)
        body["lastModifiedBy"] = user or ANONYMOUS
        conn.execute(
            app_t.update()
            .where(app_t.c.name == body["name"])
            .values(body=encode_document(body), updated_at=now)
        )
        return body

    def _check_same_name(self, stored: str, attributes: Json) -> None:
        given = attributes.get("name")
        if given is not None and (not isinstance(given, str) or given.strip().lower() != stored):
            raise InvalidInput(
                "",
                [FieldError("$.name", f"application name '{given}' does not match '{stored}'")],
            )

    # -- validation ------------------------------------------------------------------------------

    def _validated(self, application: object) -> Json:
        """A copy with the name trimmed and lower-cased; InvalidInput naming every bad field."""
        _require_object(application)
        assert isinstance(application, dict)
        errors: list[FieldError] = []
        name = application.get("name")
        if isinstance(name, int | float) and not isinstance(name, bool):
            errors.append(FieldError("$.name", f'must be a string: write the name in quotes ("{name}")'))
        elif name is not None and not isinstance(name, str):
            errors.append(FieldError("$.name", "must be a string"))
        elif not isinstance(name, str) or not name.strip():
            errors.append(FieldError("$.name", "Application must have a non-empty name"))
        else:
            errors.extend(self._name_errors(name.strip(), application))
        email = application.get("email")
        if not isinstance(email, str) or not email.strip():
            errors.append(FieldError("$.email", "Application must have a non-empty email"))
        providers = application.get("cloudProviders")
        if providers is not None and not (
            isinstance(providers, str)
            or (isinstance(providers, list) and all(isinstance(p, str) for p in providers))
        ):
            errors.append(
                FieldError("$.cloudProviders", "must be a comma-separated string or a list of strings")
            )
        if "permissions" in application:
            # Front50's permissions field: kept as given, but only known actions and role names.
            try:
                parse_permissions(application["permissions"])
            except InvalidInput as exc:
                errors.extend(exc.errors)
        if errors:
            raise InvalidInput("", errors)
        body = dict(application)
        body["name"] = str(name).strip().lower()
        return body

    def _name_errors(self, name: str, application: Json) -> list[FieldError]:
        errors = []
        if not _APP_NAME_RE.fullmatch(name) or not name.strip("."):
            errors.append(
                FieldError(
                    "$.name",
                    f"invalid application name {name!r}: use only letters, digits, '-', '_' and '.' "
                    "(Frigga's naming rules; not only dots)",
                )
            )
        if len(name) > MAX_NAME_LENGTH:
            errors.append(FieldError("$.name", f"must be at most {MAX_NAME_LENGTH} characters"))
        if self._name_pattern is not None and not self._name_pattern.fullmatch(name):
            message = self._name_message or (
                f"Application name doesn't satisfy the validation regex: {self._name_pattern.pattern}"
            )
            errors.append(FieldError("$.name", message))
        for provider in cloud_providers(application):
            rule = CLOUD_PROVIDER_NAME_RULES.get(provider)
            if rule is not None and (len(name) > rule[0] or not re.fullmatch(rule[1], name)):
                errors.append(
                    FieldError(
                        "$.name",
                        f"invalid application name '{name}' for cloud provider '{provider}': "
                        f"must match ^{rule[1]}$ and be at most {rule[0]} characters",
                    )
                )
        return errors

    # -- reads -----------------------------------------------------------------------------------

    def get(self, conn: Connection, name: str) -> Json:
        """One application by name (any case); NotFound if absent."""
        found = self.find(conn, name)
        if found is None:
            raise NotFound(f"Application not found (id: {name})")
        return found

    def find(self, conn: Connection, name: str) -> Json | None:
        """One application by name (any case), or None."""
        body = self._row(conn, name.strip().lower())
        return None if body is None else dict(jsonlib.loads(body))

    def exists(self, conn: Connection, name: str) -> bool:
        """Whether an application of this name (any case) exists."""
        return self._row(conn, name.strip().lower()) is not None

    def list(self, conn: Connection, *, account: str | None = None, owner: str | None = None) -> list[Json]:
        """All applications by name, filtered like Gate's ``GET /applications?account=&owner=``.

        ``owner`` matches ``email`` ignoring case; ``account`` is one of the comma-separated
        ``accounts`` attribute, ignoring case (Gate learns accounts from Clouddriver's clusters;
        here it is the stored attribute).
        """
        # Sorted here, not in SQL: PostgreSQL's collation may order names differently from SQLite.
        apps = sorted((jsonlib.loads(r.body) for r in conn.execute(sa.select(app_t.c.body))), key=_by_name)
        if owner:
            apps = [a for a in apps if str(a.get("email") or "").lower() == owner.lower()]
        if account:
            apps = [a for a in apps if account.lower() in _accounts(a)]
        return apps

    def _row(self, conn: Connection, key: str) -> str | None:
        return conn.execute(sa.select(app_t.c.body).where(app_t.c.name == key)).scalar()


def _require_object(application: object) -> None:
    if not isinstance(application, dict):
        raise InvalidInput("", [FieldError("$", "an application must be a JSON object")])


def _by_name(application: Json) -> str:
    return str(application.get("name"))


def _name_key(application: object) -> str | None:
    if isinstance(application, dict) and isinstance(application.get("name"), str):
        return str(application["name"]).strip().lower() or None
    return None


def _accounts(application: Json) -> set[str]:
    value = application.get("accounts")
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return {item.strip().lower() for item in items if isinstance(item, str)}
