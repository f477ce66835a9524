"""Syncing a repository: read the branch's newest commit, validate every file, then apply all of
it in one transaction (create, update and delete the pipelines and templates it manages) or
nothing. Each attempt is recorded with its commit, author, changes and errors.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker.errors import FieldError, GennakerError, InvalidInput, NotFound
from gennaker.gitops.documents import POLICY, TEMPLATE, Document, FileError, parse_documents
from gennaker.gitops.git import Commit, GitError, GitMirror
from gennaker.gitops.lines import line_of
from gennaker.gitops.policies import apply_policies, check_policy, policy_changes, policy_errors
from gennaker.gitops.settings import GitopsRepository, GitopsSettings, gitops_settings
from gennaker.model.pipeline import ALLOW_UNAVAILABLE, Availability, validate_pipeline
from gennaker.store.schema import gitops_managed as managed_t
from gennaker.store.schema import gitops_state as state_t
from gennaker.store.schema import gitops_syncs as syncs_t
from gennaker.store.templates import parse_reference, validate_template
from gennaker.templates.plan import TemplatePlanner, is_templated, plan_with

if TYPE_CHECKING:
    from gennaker.services import Services

log = logging.getLogger(__name__)
Json = dict[str, Any]
#: Keys the store sets on a saved config; a repository's file never holds them.
_ACCOUNTING = ("id", "updateTs", "lastModifiedBy", "index")


@dataclass
class SyncReport:
    """What a plan found or a sync did."""

    repository: str
    status: str  # planned | applied | unchanged | failed
    commit: Commit | None = None
    changes: list[Json] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)

    def to_json(self) -> Json:
        """As the API answers it."""
        return {
            "repository": self.repository,
            "status": self.status,
            "commit": self.commit.sha if self.commit else None,
            "author": self.commit.author if self.commit else None,
            "message": self.commit.message if self.commit else None,
            "changes": self.changes,
            "errors": [e.to_json() for e in self.errors],
        }


@dataclass
class _Plan:
    repository: GitopsRepository
    commit: Commit
    documents: list[Document]
    errors: list[FileError]
    changes: list[Json] = field(default_factory=list)


def _stripped(body: Json) -> Json:
    return {k: v for k, v in body.items() if k not in _ACCOUNTING}


class Gitops:
    """Plans and syncs the configured repositories."""

    def __init__(self, services: Services, settings: GitopsSettings | None = None) -> None:
        self.services = services
        self.settings = settings or gitops_settings(services.settings)
        self.cache_dir = services.settings.data_dir / "gitops"

    def _repository(self, name: str) -> GitopsRepository:
        repository = self.settings.repository(name)
        if repository is None:
            known = ", ".join(r.name for r in self.settings.repositories) or "none is configured"
            raise NotFound(f"no gitops repository {name!r} ({known})")
        return repository

    # -- reading and validating ------------------------------------------------------------------

    def _read(
        self, repository: GitopsRepository
    ) -> tuple[Commit, list[Document], list[FileError], dict[str, bytes]]:
        mirror = GitMirror(repository, self.cache_dir, os.environ)
        with mirror.locked():
            commit = mirror.fetch()
            files = mirror.files(commit.sha)
        documents, errors = parse_documents(files, repository.path)
        return commit, documents, errors, files

    def _validate(
        self,
        conn: Connection,
        repository: GitopsRepository,
        documents: list[Document],
        files: dict[str, bytes],
    ) -> list[FileError]:
        errors: list[FileError] = []
        templates = {d.key: d.body for d in documents if d.kind == TEMPLATE}
        planner = TemplatePlanner(self.services.templates)
        registry = self.services.registry
        checks = Availability(has_stage=registry.has_stage, provider_problem=registry.provider_problem)

        def report(doc: Document, problems: list[FieldError]) -> None:
            text = files[doc.file].decode("utf-8", errors="replace")
            errors.extend(
                FileError(doc.file, line_of(text, p.path), f"{p.path}: {p.message}") for p in problems
            )

        configured = {r.name for r in self.services.policies.settings.rules}
        for doc in documents:
            if doc.kind == TEMPLATE:
                report(doc, validate_template(doc.body))
                continue
            if doc.kind == POLICY:
                errors.extend(check_policy(conn, repository.name, doc, configured))
                continue
            problems = validate_pipeline(doc.body, availability=checks)
            application = str(doc.body["application"])
            if repository.applications and application not in repository.applications:
                problems.append(
                    FieldError(
                        "$.application",
                        f"repository {repository.name} does not manage application {application}",
                    )
                )
            elif not self.services.applications.exists(conn, application):
                problems.append(
                    FieldError("$.application", f"application {application} does not exist; create it first")
                )
            if not problems and is_templated(doc.body):
                problems = self._check_templated(conn, planner, templates, doc.body)
            report(doc, problems)
        return errors

    def _check_templated(
        self, conn: Connection, planner: TemplatePlanner, templates: dict[str, Json], config: Json
    ) -> list[FieldError]:
        try:
            reference = str((config.get("template") or {}).get("reference") or "")
            template_id, tag, digest = parse_reference(reference)
            own = templates.get(f"{template_id}:{tag or 'latest'}") if digest is None else None
            template = own if own is not None else planner.load(conn, config)[0]
            planned = plan_with(config, template)
        except InvalidInput as exc:
            return list(exc.errors) or [FieldError("$", str(exc))]
        registry = self.services.registry
        if config.get(ALLOW_UNAVAILABLE) is True:
            return validate_pipeline(planned)
        return validate_pipeline(
            planned,
            availability=Availability(
                has_stage=registry.has_stage, provider_problem=registry.provider_problem
            ),
        )

    def _managed(self, conn: Connection, repository: str) -> dict[tuple[str, str], Any]:
        rows = conn.execute(sa.select(managed_t).where(managed_t.c.repository == repository))
        return {(r.kind, r.key): r for r in rows}

    def _changes(self, conn: Connection, plan: _Plan) -> None:
        managed = self._managed(conn, plan.repository.name)
        plan.changes.extend(policy_changes(conn, plan.repository.name, plan.documents))
        for doc in plan.documents:
            if doc.kind == POLICY:
                continue
            row = managed.pop((doc.kind, doc.key), None)
            current = self._current(conn, doc)
            if current is None:
                action = "create"
            elif _stripped(current) == _stripped(doc.body):
                action = "unchanged"
            else:
                action = "update" if row is not None else "adopt"
            plan.changes.append({"action": action, "kind": doc.kind, "key": doc.key, "file": doc.file})
        for (kind, key), row in sorted(managed.items()):
            plan.changes.append({"action": "delete", "kind": kind, "key": key, "file": row.file})

    def _current(self, conn: Connection, doc: Document) -> Json | None:
        try:
            if doc.kind == TEMPLATE:
                template_id, _, tag = doc.key.rpartition(":")
                return self.services.templates.get(conn, template_id, tag=tag)
            application, _, name = doc.key.partition("/")
            return self.services.pipelines.get_by_name(conn, application, name)
        except NotFound:
            return None

    def plan(self, name: str) -> SyncReport:
        """What a sync of the branch's newest commit would change (nothing is written)."""
        repository = self._repository(name)
        try:
            commit, documents, errors, files = self._read(repository)
        except GitError as exc:
            return SyncReport(name, "failed", errors=[FileError("(repository)", None, str(exc))])
        plan = _Plan(repository, commit, documents, errors)
        with self.services.db.read() as conn:
            plan.errors.extend(self._validate(conn, repository, documents, files))
            self._changes(conn, plan)
        plan.errors.extend(
            policy_errors(self.services, repository.name, documents, plan.changes, commit.author)
        )
        return SyncReport(name, "failed" if plan.errors else "planned", commit, plan.changes, plan.errors)

    # -- applying --------------------------------------------------------------------------------

    def sync(self, name: str, *, reason: str = "manual") -> SyncReport:
        """Apply the branch's newest commit, all or nothing, and record the attempt."""
        repository = self._repository(name)
        try:
            commit, documents, errors, files = self._read(repository)
        except GitError as exc:
            report = SyncReport(name, "failed", errors=[FileError("(repository)", None, str(exc))])
            self._record(report, reason)
            return report
        # Policies first, outside the write transaction (an OPA policy may wait on the network).
        ahead = _Plan(repository, commit, documents, [])
        with self.services.db.read() as conn:
            self._changes(conn, ahead)
        denied = policy_errors(self.services, repository.name, documents, ahead.changes, commit.author)
        plan = _Plan(repository, commit, documents, errors + denied)
        try:
            with self.services.db.transaction() as conn:
                plan.errors.extend(self._validate(conn, repository, documents, files))
                self._changes(conn, plan)
                if plan.errors:
                    raise _NothingApplied()
                self._apply(conn, plan)
                status = "applied" if any(c["action"] != "unchanged" for c in plan.changes) else "unchanged"
                report = SyncReport(name, status, commit, plan.changes, [])
                self._write_record(conn, report, reason)
                return report
        except _NothingApplied:
            report = SyncReport(name, "failed", commit, plan.changes, plan.errors)
        except GennakerError as exc:
            report = SyncReport(name, "failed", commit, plan.changes, [FileError("(apply)", None, str(exc))])
        self._record(report, reason)
        return report

    def _apply(self, conn: Connection, plan: _Plan) -> None:
        user = f"{plan.commit.author} (gitops {plan.repository.name}@{plan.commit.sha[:12]})"
        repo = plan.repository.name
        actions = {(c["kind"], c["key"]): c["action"] for c in plan.changes}
        apply_policies(
            conn, repo, plan.documents, plan.changes, plan.commit.sha, self.services.clock.now_ms()
        )
        ordered = sorted((d for d in plan.documents if d.kind != POLICY), key=lambda d: d.kind != TEMPLATE)
        for doc in ordered:
            action = actions[(doc.kind, doc.key)]
            config_id: str | None = None
            if doc.kind == TEMPLATE:
                template_id, _, tag = doc.key.rpartition(":")
                if action != "unchanged":
                    self.services.templates.save(conn, doc.body, tag=tag, user=user)
            else:
                current = self._current(conn, doc)
                body = dict(doc.body)
                if current is not None:
                    body["id"] = current["id"]
                config_id = str(current["id"]) if current is not None else None
                if action != "unchanged":
                    config_id = str(self.services.pipelines.save(conn, body, user=user)["id"])
            self._set_managed(conn, repo, doc, config_id, plan.commit.sha)
        for change in plan.changes:
            if change["action"] == "delete" and change["kind"] != POLICY:
                self._delete(conn, repo, change["kind"], change["key"])

    def _set_managed(
        self, conn: Connection, repo: str, doc: Document, config_id: str | None, sha: str
    ) -> None:
        where = (managed_t.c.repository == repo, managed_t.c.kind == doc.kind, managed_t.c.key == doc.key)
        conn.execute(managed_t.delete().where(*where))
        conn.execute(
            managed_t.insert().values(
                repository=repo,
                kind=doc.kind,
                key=doc.key,
                config_id=config_id,
                file=doc.file,
                commit_sha=sha,
            )
        )

    def _delete(self, conn: Connection, repo: str, kind: str, key: str) -> None:
        if kind == TEMPLATE:
            template_id, _, tag = key.rpartition(":")
            self.services.templates.delete(conn, template_id, tag=tag)
        else:
            application, _, name = key.partition("/")
            self.services.pipelines.delete_by_name(conn, application, name)
        conn.execute(
            managed_t.delete().where(
                managed_t.c.repository == repo, managed_t.c.kind == kind, managed_t.c.key == key
            )
        )

    # -- records ---------------------------------------------------------------------------------

    def _record(self, report: SyncReport, reason: str) -> None:
        with self.services.db.transaction() as conn:
            self._write_record(conn, report, reason)

    def _write_record(self, conn: Connection, report: SyncReport, reason: str) -> None:
        now = self.services.clock.now_ms()
        conn.execute(
            syncs_t.insert().values(
                repository=report.repository,
                commit_sha=report.commit.sha if report.commit else None,
                author=report.commit.author[:500] if report.commit else None,
                status=report.status,
                at=now,
                reason=reason[:100],
                changes=json.dumps(report.changes),
                errors=json.dumps([e.to_json() for e in report.errors]),
            )
        )
        values = {"last_attempt_at": now, "last_status": report.status, "requested_at": None}
        if report.status in ("applied", "unchanged") and report.commit:
            values["last_commit"] = report.commit.sha
        updated = conn.execute(
            state_t.update().where(state_t.c.repository == report.repository).values(**values)
        )
        if updated.rowcount == 0:
            conn.execute(state_t.insert().values(repository=report.repository, **values))
        if report.status == "failed":
            log.warning(
                "gitops sync of %s failed: %s",
                report.repository,
                "; ".join(str(e) for e in report.errors[:5]),
            )


class _NothingApplied(Exception):
    """Rolls the sync's transaction back when a file is invalid."""
