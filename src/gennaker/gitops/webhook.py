"""Push webhooks that sync a repository at once: a push to a repository's branch delivered to
``/webhooks/git/{github|gitlab|bitbucket}`` (the git trigger receiver) requests a sync, after the
delivery's signature is checked against the repository's ``webhook_secret_env``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from gennaker.gitops.settings import gitops_settings
from gennaker.gitops.state import request_sync
from gennaker.triggers.git_payloads import NotAGitEvent, parse, signature_problem
from gennaker.triggers.webhook import Delivery

if TYPE_CHECKING:
    from gennaker.services import Services


def on_git_delivery(services: Services, delivery: Delivery) -> list[dict[str, Any]]:
    """Request a sync of every repository the push names; what was requested or refused, and why."""
    repositories = [r for r in gitops_settings(services.settings).repositories if r.webhook_repository]
    if not repositories:
        return []
    source = delivery.source.lower()
    try:
        event = parse(source, delivery.headers, delivery.body)
    except NotAGitEvent:
        return []
    if event.properties.get("number") is not None:
        return []
    names = {f"{p}/{event.slug}".lower() for p in (event.project, *event.project_aliases) if p}
    results: list[dict[str, Any]] = []
    for repo in repositories:
        if str(repo.webhook_repository).lower() not in names or event.branch != repo.branch:
            continue
        if repo.webhook_secret_env:
            secret = os.environ.get(repo.webhook_secret_env)
            if not secret:
                results.append(
                    {
                        "repository": repo.name,
                        "sync": "refused",
                        "reason": f"environment variable {repo.webhook_secret_env} (webhook_secret_env) is not set",
                    }
                )
                continue
            problem = signature_problem(source, secret, delivery.headers, delivery.raw)
            if problem is not None:
                results.append({"repository": repo.name, "sync": "refused", "reason": problem[1]})
                continue
        request_sync(services.db, repo.name, services.clock.now_ms())
        results.append({"repository": repo.name, "sync": "requested", "commit": event.hash})
    return results
