"""Pipeline templates, MPT v2 (Front50's V2PipelineTemplateController + PipelineTemplateDAO).

A template is kept under tags and under its digest, as Front50 keeps ``id:tag`` and
``id@sha256:<digest>``. Each row of ``pipeline_templates`` is one of:

- a tag row, ``(id, tag)`` with tag one of ``VALID_TAGS``: moves when the tag is saved again;
- a digest row, ``(id, <digest>)``, the tag column holding the 64 hex digits: written once and
  never changed, so a pipeline pinned to ``spinnaker://id@sha256:<digest>`` keeps resolving
  after the tags have moved on. Tags are never 64 hex digits, so the two cannot collide.

As in Front50, saving under any tag also moves ``latest``. The stored body is the template as
given, key order kept, without ``tag``/``digest`` and with ``updateTs``/``lastModifiedBy`` set;
``get`` returns it like that (Front50's ``GET`` strips tag and digest too), while ``save``,
``list`` and ``versions`` add ``tag`` and ``digest`` to each entry.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker.clock import Clock
from gennaker.errors import Conflict, FieldError, InvalidInput, NotFound
from gennaker.store import json as jsonlib
from gennaker.store.pipelines import encode_document
from gennaker.store.schema import pipeline_configs as cfg_t
from gennaker.store.schema import pipeline_templates as tpl_t

Json = dict[str, Any]

#: Front50's VALID_TEMPLATE_TAGS.
VALID_TAGS = ("latest", "stable", "unstable", "experimental", "test", "canary")
DEFAULT_TAG = "latest"
VARIABLE_TYPES = ("int", "float", "bool", "string", "list", "object")
SPINNAKER_PREFIX = "spinnaker://"
MAX_ID_LENGTH = 255
ANONYMOUS = "anonymous"

_VARIABLE_NAME = re.compile(r"[a-zA-Z0-9_]+")
_DIGEST = re.compile(r"[0-9a-f]{64}")
# Java's \s (without UNICODE_CHARACTER_CLASS), which Front50's digest strips.
_JAVA_WHITESPACE = re.compile("[ \t\n\x0b\f\r]+")
_ACCOUNTING = ("tag", "digest", "updateTs", "lastModifiedBy")


def template_digest(template: Json) -> str:
    """The sha256 Front50 gives a template: of its JSON with keys sorted and whitespace removed.

    Front50 computes it after setting ``tag`` to ``latest`` and removing its own accounting
    fields; doing the same here gives the digests Spinnaker gives, so pinned references made
    there resolve here (numbers are formatted as Python does, which matches Jackson for
    integers and ordinary decimals).
    """
    canonical = {k: v for k, v in template.items() if k not in _ACCOUNTING}
    canonical["tag"] = DEFAULT_TAG
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(_JAVA_WHITESPACE.sub("", text).encode()).hexdigest()


def parse_reference(reference: str) -> tuple[str, str | None, str | None]:
    """``[spinnaker://]id[:tag|@sha256:digest]`` as (id, tag, digest)."""
    ref = reference.removeprefix(SPINNAKER_PREFIX)
    if "@" in ref:
        template_id, _, digest = ref.partition("@")
        return template_id, None, digest.removeprefix("sha256:")
    template_id, _, tag = ref.partition(":")
    return template_id, tag or None, None


def validate_template(template: object) -> list[FieldError]:
    """The basic problems of an MPT v2 template, each with its JSON path."""
    if not isinstance(template, dict):
        return [FieldError("$", "a pipeline template must be a JSON object")]
    errors = []
    if template.get("schema") != "v2":
        errors.append(FieldError("$.schema", 'must be "v2"'))
    template_id = template.get("id")
    if not isinstance(template_id, str) or not template_id.strip():
        errors.append(FieldError("$.id", "is required (a non-empty string)"))
    elif len(template_id) > MAX_ID_LENGTH:
        errors.append(FieldError("$.id", f"must be at most {MAX_ID_LENGTH} characters"))
    elif ":" in template_id or "@" in template_id:
        errors.append(FieldError("$.id", "must not contain ':' or '@' (they introduce a tag or a digest)"))
    metadata = template.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        errors.append(FieldError("$.metadata", "must be an object"))
    elif isinstance(metadata, dict):
        scopes = metadata.get("scopes")
        if scopes is not None and not (isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)):
            errors.append(FieldError("$.metadata.scopes", "must be a list of strings"))
    if template.get("pipeline") is not None and not isinstance(template.get("pipeline"), dict):
        errors.append(FieldError("$.pipeline", "must be an object (a pipeline config)"))
    _check_variables(template.get("variables"), errors)
    return errors


def _check_variables(variables: object, errors: list[FieldError]) -> None:
    if variables is None:
        return
    if not isinstance(variables, list):
        errors.append(FieldError("$.variables", "must be a list"))
        return
    seen: dict[str, str] = {}
    for index, variable in enumerate(variables):
        path = f"$.variables[{index}]"
        if not isinstance(variable, dict):
            errors.append(FieldError(path, "must be an object"))
            continue
        name = variable.get("name")
        if not isinstance(name, str) or not _VARIABLE_NAME.fullmatch(name):
            errors.append(FieldError(f"{path}.name", "must match ^[a-zA-Z0-9_]+$"))
        elif name in seen:
            errors.append(FieldError(f"{path}.name", f"duplicate variable '{name}' (also at {seen[name]})"))
        else:
            seen[name] = path
        var_type = variable.get("type")
        if var_type is not None and var_type not in VARIABLE_TYPES:
            errors.append(FieldError(f"{path}.type", f"must be one of {', '.join(VARIABLE_TYPES)}"))


def matches_scopes(template: Json, scopes: Iterable[str]) -> bool:
    """Front50's containsAnyScope: a wanted scope equals a ``metadata.scopes`` entry (any case) or matches it."""
    metadata = template.get("metadata")
    held = metadata.get("scopes") if isinstance(metadata, dict) else None
    if not isinstance(held, list):
        return False
    for wanted in scopes:
        for scope in held:
            if not isinstance(scope, str):
                continue
            if wanted.lower() == scope.lower():
                return True
            try:
                if re.fullmatch(scope, wanted):
                    return True
            except re.error:
                continue
    return False


class PipelineTemplateRepository:
    """Reads and writes MPT v2 templates inside the caller's transaction."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    # -- writes ----------------------------------------------------------------------------------

    def save(
        self,
        conn: Connection,
        template: object,
        *,
        tag: str | None = None,
        user: str | None = None,
        create_only: bool = False,
    ) -> Json:
        """Store a template under a tag (the argument, else its ``tag`` field, else ``latest``).

        Also moves ``latest`` and records the digest version. ``create_only`` (Front50's
        ``POST``) is a Conflict when the tag exists. Returns the body with ``tag`` and ``digest``.
        """
        errors = validate_template(template)
        if isinstance(template, dict) and not tag:
            tag = template.get("tag") or None
        tag = tag or DEFAULT_TAG
        if tag not in VALID_TAGS:
            errors.append(
                FieldError("tag", f"'{tag}' is not supported; a tag must be one of {', '.join(VALID_TAGS)}")
            )
        if errors:
            raise InvalidInput("", errors)
        assert isinstance(template, dict)
        template_id = str(template["id"])
        if create_only and self._body(conn, template_id, tag) is not None:
            raise Conflict(f"A pipeline template with the id {template_id}:{tag} already exists")
        now = self._clock.now_ms()
        body = {k: v for k, v in template.items() if k not in _ACCOUNTING}
        digest = template_digest(body)
        body["updateTs"] = str(now)
        body["lastModifiedBy"] = user or ANONYMOUS
        text = encode_document(body)
        try:
            with conn.begin_nested():
                for row_tag in dict.fromkeys((tag, DEFAULT_TAG)):
                    self._put(conn, template_id, row_tag, digest, text, now, user)
                if self._body(conn, template_id, digest) is None:
                    self._put(conn, template_id, digest, digest, text, now, user)
        except sa.exc.IntegrityError as exc:
            raise Conflict(f"pipeline template {template_id} was saved concurrently; save it again") from exc
        return {**body, "tag": tag, "digest": digest}

    def _put(
        self, conn: Connection, template_id: str, tag: str, digest: str, text: str, now: int, user: str | None
    ) -> None:
        values = {"digest": digest, "body": text, "updated_at": now, "updated_by": user}
        updated = conn.execute(
            tpl_t.update().where(tpl_t.c.id == template_id, tpl_t.c.tag == tag).values(**values)
        ).rowcount
        if not updated:
            conn.execute(tpl_t.insert().values(id=template_id, tag=tag, **values))

    def delete(
        self, conn: Connection, template_id: str, *, tag: str | None = None, digest: str | None = None
    ) -> bool:
        """Remove one tag, one digest version, or (neither given) every version; False if nothing matched.

        Conflict, and nothing removed, while pipeline configs reference what would go.
        """
        key = _row_key(tag, digest)
        dependents = self.dependents(conn, template_id, tag=tag, digest=digest)
        if dependents:
            raise Conflict(f"The following pipeline configs depend on this template: {', '.join(dependents)}")
        stmt = tpl_t.delete().where(tpl_t.c.id == template_id)
        if key is not None:
            stmt = stmt.where(tpl_t.c.tag == key)
        return bool(conn.execute(stmt).rowcount)

    # -- reads -----------------------------------------------------------------------------------

    def get(
        self, conn: Connection, template_id: str, *, tag: str | None = None, digest: str | None = None
    ) -> Json:
        """One version by tag (default ``latest``) or digest, without tag/digest; NotFound if absent."""
        key = _row_key(tag, digest) or DEFAULT_TAG
        text = self._body(conn, template_id, key)
        if text is None:
            shown = f"{template_id}@sha256:{key}" if digest else f"{template_id}:{key}"
            raise NotFound(f"No pipeline template found with id {shown}")
        return dict(jsonlib.loads(text))

    def resolve(self, conn: Connection, reference: str) -> Json:
        """The version a reference names: ``spinnaker://id``, ``…:tag`` or ``…@sha256:digest``."""
        template_id, tag, digest = parse_reference(reference)
        return self.get(conn, template_id, tag=tag, digest=digest)

    def versions(self, conn: Connection, *, scopes: Sequence[str] | None = None) -> dict[str, list[Json]]:
        """Front50's ``/versions``: per template id, its tagged versions then its digest versions."""
        grouped: dict[str, list[Json]] = {}
        for entry in self._entries(conn, scopes):
            grouped.setdefault(str(entry["id"]), []).append(entry)
        for entries in grouped.values():
            entries.sort(key=lambda e: "tag" not in e)
        return grouped

    def dependents(
        self, conn: Connection, template_id: str, *, tag: str | None = None, digest: str | None = None
    ) -> list[str]:
        """Ids of pipeline configs whose template reference names this template (this tag or digest)."""
        rows = conn.execute(
            sa.select(cfg_t.c.id, cfg_t.c.body).where(
                cfg_t.c.body.contains(SPINNAKER_PREFIX + template_id, autoescape=True)
            )
        )
        found = []
        for row in rows:
            template = jsonlib.loads(row.body).get("template")
            reference = template.get("reference") if isinstance(template, dict) else None
            if not isinstance(reference, str) or not reference.startswith(SPINNAKER_PREFIX):
                continue
            ref_id, ref_tag, ref_digest = parse_reference(reference)
            if ref_id != template_id:
                continue
            if digest is not None:
                hit = ref_digest == digest.removeprefix("sha256:")
            elif tag is not None:
                hit = ref_tag == tag or (ref_tag is None and ref_digest is None and tag == DEFAULT_TAG)
            else:
                hit = True
            if hit:
                found.append(row.id)
        return sorted(found)

    def _entries(self, conn: Connection, scopes: Sequence[str] | None) -> list[Json]:
        # Sorted here, not in SQL: PostgreSQL's collation may order ids differently from SQLite.
        rows = sorted(
            conn.execute(sa.select(tpl_t.c.id, tpl_t.c.tag, tpl_t.c.digest, tpl_t.c.body)),
            key=lambda r: (r.id, r.tag),
        )
        entries = []
        for row in rows:
            entry = jsonlib.loads(row.body)
            if scopes and not matches_scopes(entry, scopes):
                continue
            if row.tag != row.digest:
                entry["tag"] = row.tag
            entry["digest"] = row.digest
            entries.append(entry)
        return entries

    def _body(self, conn: Connection, template_id: str, key: str) -> str | None:
        return conn.execute(
            sa.select(tpl_t.c.body).where(tpl_t.c.id == template_id, tpl_t.c.tag == key)
        ).scalar()

    # Last in the class: below it, ``list`` names this method, not the builtin, for mypy.
    def list(self, conn: Connection, *, scopes: Sequence[str] | None = None) -> list[Json]:
        """Every tagged version (with ``tag`` and ``digest``) by id then tag, optionally only these scopes."""
        return [entry for entry in self._entries(conn, scopes) if "tag" in entry]


def _row_key(tag: str | None, digest: str | None) -> str | None:
    """The tag column value for a tag or a digest (None: neither given)."""
    if tag and digest:
        raise InvalidInput(
            "Cannot query pipeline templates by 'tag' and 'digest' simultaneously. Specify one."
        )
    if digest:
        value = digest.removeprefix("sha256:")
        if not _DIGEST.fullmatch(value):
            raise InvalidInput("", [FieldError("digest", "must be 64 lower-case hex digits (sha256)")])
        return value
    return tag or None
