"""Policies kept in a gitops repository: checked like the other files of a commit, diffed against
what the last sync stored, and replaced all at once when the commit applies.

A commit is judged by the policies it will leave in force: gennaker.toml's, other repositories',
and its own (so a commit can fix or remove a policy that would refuse it). Only the pipelines
and templates the commit creates or changes are judged, as saves through the API are."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection

from gennaker.config import ConfigError
from gennaker.gitops.documents import POLICY, Document, FileError
from gennaker.policies.cel import CelRule
from gennaker.policies.evaluator import PolicyEngine
from gennaker.policies.settings import PolicyRule, PolicySettings
from gennaker.store.schema import gitops_policies as policies_t

if TYPE_CHECKING:
    from gennaker.services import Services

Json = dict[str, Any]


def check_policy(conn: Connection, repository: str, doc: Document, configured: set[str]) -> list[FileError]:
    """The problems of one policy file."""
    try:
        rule = PolicyRule.model_validate(doc.body)
        if rule.engine == "cel":
            CelRule(rule.name, str(rule.rule))
    except ValidationError as exc:
        return [FileError(doc.file, None, f"not a valid policy: {e['msg']}") for e in exc.errors()]
    except ConfigError as exc:
        return [FileError(doc.file, None, str(exc))]
    if rule.name in configured:
        return [FileError(doc.file, None, f"policy {rule.name} is already defined in gennaker.toml")]
    owner = conn.execute(sa.select(policies_t.c.repository).where(policies_t.c.name == rule.name)).scalar()
    if owner is not None and owner != repository:
        return [
            FileError(doc.file, None, f"policy {rule.name} is already defined by gitops repository {owner}")
        ]
    return []


def policy_changes(conn: Connection, repository: str, documents: list[Document]) -> list[Json]:
    """Create, update, unchanged and delete of the repository's policies."""
    stored = {
        r.name: (json.loads(r.body), r.file)
        for r in conn.execute(sa.select(policies_t).where(policies_t.c.repository == repository))
    }
    changes = []
    for doc in documents:
        if doc.kind != POLICY:
            continue
        before = stored.pop(doc.key, None)
        action = "create" if before is None else "unchanged" if before[0] == doc.body else "update"
        changes.append({"action": action, "kind": POLICY, "key": doc.key, "file": doc.file})
    for name, (_, file) in sorted(stored.items()):
        changes.append({"action": "delete", "kind": POLICY, "key": name, "file": file})
    return changes


def _engine_after(services: Services, repository: str, documents: list[Document]) -> PolicyEngine:
    current = services.policies
    others = [
        r
        for r in (current.stored.rules() if current.stored else [])
        if _owner(services, r.name) != repository
    ]
    own = []
    for doc in documents:
        if doc.kind == POLICY:
            try:
                own.append(PolicyRule.model_validate(doc.body))
            except ValidationError:
                continue  # reported by check_policy
    settings = PolicySettings.model_construct(
        rules=(*current.settings.rules, *others, *own), opa=current.settings.opa
    )
    return PolicyEngine(settings, current.clock)


def _owner(services: Services, name: str) -> str | None:
    with services.db.read() as conn:
        owner = conn.execute(sa.select(policies_t.c.repository).where(policies_t.c.name == name)).scalar()
    return str(owner) if owner is not None else None


def policy_errors(
    services: Services, repository: str, documents: list[Document], changes: list[Json], author: str
) -> list[FileError]:
    """Save policies' refusals of what the commit creates or changes (outside any transaction)."""
    changed = {(c["kind"], c["key"]) for c in changes if c["action"] in ("create", "update", "adopt")}
    judged = [d for d in documents if d.kind != POLICY and (d.kind, d.key) in changed]
    if not judged:
        return []
    try:
        engine = _engine_after(services, repository, documents)
    except ConfigError as exc:
        return [FileError("(policies)", None, str(exc))]
    errors: list[FileError] = []
    for doc in judged:
        decision = engine.check_save(doc.body, kind=doc.kind, user=author)
        errors.extend(FileError(doc.file, None, f"denied by policy {m}") for m in decision.denied)
    return errors


def apply_policies(
    conn: Connection, repository: str, documents: list[Document], changes: list[Json], sha: str, now_ms: int
) -> None:
    """The repository's stored policies become exactly the commit's."""
    if not any(c["kind"] == POLICY and c["action"] != "unchanged" for c in changes):
        return
    conn.execute(policies_t.delete().where(policies_t.c.repository == repository))
    for doc in documents:
        if doc.kind == POLICY:
            conn.execute(
                policies_t.insert().values(
                    name=doc.key,
                    repository=repository,
                    file=doc.file,
                    commit_sha=sha,
                    body=json.dumps(doc.body),
                    updated_at=now_ms,
                )
            )
