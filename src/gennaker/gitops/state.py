"""What the API, the CLI and the scheduler ask of gitops besides syncing: each repository's state
and history, sync requests (a push webhook), which repositories are due, and whether a pipeline
is managed by one (and so read-only through the API)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker.db import Database
from gennaker.errors import Conflict
from gennaker.gitops.settings import GitopsSettings
from gennaker.store.schema import gitops_managed as managed_t
from gennaker.store.schema import gitops_state as state_t
from gennaker.store.schema import gitops_syncs as syncs_t

Json = dict[str, Any]


def _sync_json(row: Any) -> Json:
    return {
        "id": row.id,
        "commit": row.commit_sha,
        "author": row.author,
        "status": row.status,
        "at": row.at,
        "reason": row.reason,
        "changes": json.loads(row.changes),
        "errors": json.loads(row.errors),
    }


def history(conn: Connection, repository: str, *, limit: int = 20) -> list[Json]:
    """A repository's sync attempts, newest first."""
    rows = conn.execute(
        sa.select(syncs_t)
        .where(syncs_t.c.repository == repository)
        .order_by(syncs_t.c.id.desc())
        .limit(limit)
    )
    return [_sync_json(r) for r in rows]


def status(conn: Connection, settings: GitopsSettings) -> list[Json]:
    """Every configured repository with its state and its last sync attempt."""
    states = {r.repository: r for r in conn.execute(sa.select(state_t))}
    out = []
    for repo in settings.repositories:
        state = states.get(repo.name)
        last = history(conn, repo.name, limit=1)
        managed = conn.execute(
            sa.select(managed_t.c.kind, managed_t.c.key, managed_t.c.file).where(
                managed_t.c.repository == repo.name
            )
        ).all()
        out.append(
            {
                "name": repo.name,
                "url": repo.url,
                "branch": repo.branch,
                "path": repo.path,
                "applications": list(repo.applications),
                "intervalSeconds": repo.interval_seconds,
                "lastCommit": state.last_commit if state else None,
                "lastStatus": state.last_status if state else None,
                "lastAttemptAt": state.last_attempt_at if state else None,
                "requestedAt": state.requested_at if state else None,
                "lastSync": last[0] if last else None,
                "managed": [{"kind": m.kind, "key": m.key, "file": m.file} for m in managed],
            }
        )
    return out


def request_sync(db: Database, repository: str, now_ms: int) -> None:
    """Ask the scheduler to sync a repository at its next round."""
    with db.transaction() as conn:
        updated = conn.execute(
            state_t.update().where(state_t.c.repository == repository).values(requested_at=now_ms)
        )
        if updated.rowcount == 0:
            conn.execute(state_t.insert().values(repository=repository, requested_at=now_ms))


def due(conn: Connection, settings: GitopsSettings, now_ms: int) -> list[str]:
    """Repositories to sync now: requested, never tried, or last tried an interval ago."""
    states = {r.repository: r for r in conn.execute(sa.select(state_t))}
    names = []
    for repo in settings.repositories:
        state = states.get(repo.name)
        if (
            state is None
            or state.requested_at is not None
            or state.last_attempt_at is None
            or now_ms - state.last_attempt_at >= repo.interval_seconds * 1000
        ):
            names.append(repo.name)
    return names


def check_not_managed(
    conn: Connection,
    settings: GitopsSettings,
    *,
    config_id: str | None = None,
    application: str | None = None,
    name: str | None = None,
) -> None:
    """Conflict (409) when a repository manages this pipeline and API changes are not allowed."""
    if settings.allow_api_changes or not settings.repositories:
        return
    clauses = []
    if config_id:
        clauses.append(managed_t.c.config_id == config_id)
    if application and name:
        clauses.append(managed_t.c.key == f"{application.lower()}/{name}")
    if not clauses:
        return
    row = conn.execute(
        sa.select(managed_t).where(managed_t.c.kind == "pipeline", sa.or_(*clauses)).limit(1)
    ).first()
    if row is not None:
        raise Conflict(
            f"pipeline {row.key} is managed by gitops repository {row.repository} "
            f"(file {row.file} at commit {row.commit_sha[:12]}): change it there, "
            "or set gitops.allow_api_changes = true"
        )
