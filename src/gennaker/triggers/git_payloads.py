"""Reading what GitHub, GitLab and Bitbucket send on a push (and GitHub on a pull request) into one
``GitEvent``, and checking each service's signature of the raw body.

Signatures: GitHub ``X-Hub-Signature-256: sha256=<hmac>`` (or the older ``X-Hub-Signature:
sha1=<hmac>``), GitLab ``X-Gitlab-Token: <secret>`` (the secret itself), Bitbucket
``X-Hub-Signature: sha256=<hmac>``. Delivery ids: ``X-GitHub-Delivery``, ``X-Gitlab-Event-UUID``,
``X-Request-UUID`` (Bitbucket Cloud) or ``X-Request-Id`` (Bitbucket Server).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

Json = dict[str, Any]
SOURCES = ("github", "gitlab", "bitbucket", "stash")
_ZERO_SHA = "0" * 40


class NotAGitEvent(ValueError):
    """The body is not an event this trigger understands (a ping, an issue comment ...)."""


@dataclass(frozen=True)
class GitEvent:
    """A push or pull-request event, whatever service sent it."""

    source: str
    project: str
    slug: str
    branch: str
    hash: str
    action: str
    #: Other names the project goes by (GitLab's display namespace next to its path).
    project_aliases: tuple[str, ...] = ()
    repository: Json = field(default_factory=dict)
    properties: Json = field(default_factory=dict)
    #: ``github/file`` / ``gitlab/file`` artifacts for the files a push added or modified.
    artifacts: tuple[Json, ...] = ()

    def trigger_fields(self) -> Json:
        """What the execution's trigger carries."""
        out: Json = {
            "source": self.source,
            "project": self.project,
            "slug": self.slug,
            "branch": self.branch,
            "hash": self.hash,
            "action": self.action,
            "repository": dict(self.repository),
        }
        if self.properties:
            out["properties"] = dict(self.properties)
        out["artifacts"] = [dict(a) for a in self.artifacts]
        return out


def _changed_files(body: Mapping[str, Any]) -> list[str]:
    """Files added or modified by a push's commits, each once, in the order first seen."""
    files: list[str] = []
    for commit in body.get("commits") or []:
        if not isinstance(commit, Mapping):
            continue
        for key in ("added", "modified"):
            for name in commit.get(key) or []:
                if isinstance(name, str) and name not in files:
                    files.append(name)
    return files


def _github_artifacts(body: Mapping[str, Any], sha: str) -> tuple[Json, ...]:
    """Echo's GitHubArtifactExtractor: a ``github/file`` per changed file, referenced by its
    contents API URL."""
    contents = str(_get(body, "repository", "contents_url") or "")
    return tuple(
        {"type": "github/file", "name": f, "version": sha, "reference": contents.replace("{+path}", f)}
        for f in _changed_files(body)
    )


def _gitlab_artifacts(body: Mapping[str, Any], sha: str) -> tuple[Json, ...]:
    """Echo's GitlabV4ArtifactExtractor: a ``gitlab/file`` per changed file, referenced by its raw
    file API URL (the base URL taken from the project's homepage)."""
    project = body.get("project") or {}
    path = str(project.get("path_with_namespace") or "")
    base = str(project.get("homepage") or project.get("web_url") or "").replace("/" + path, "")
    api = f"{base}/api/v4/projects/{quote(path, safe='')}/repository/files"
    return tuple(
        {"type": "gitlab/file", "name": f, "version": sha, "reference": f"{api}/{quote(f, safe='')}/raw"}
        for f in _changed_files(body)
    )


def _branch(ref: Any) -> str:
    text = str(ref or "")
    return text[len("refs/heads/") :] if text.startswith("refs/heads/") else text


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def delivery_id(source: str, headers: Mapping[str, str]) -> str | None:
    """The service's unique id of this delivery (its retries carry the same one)."""
    names = {
        "github": ("x-github-delivery",),
        "gitlab": ("x-gitlab-event-uuid", "x-gitlab-webhook-uuid"),
        "bitbucket": ("x-request-uuid", "x-request-id", "x-hook-uuid"),
        "stash": ("x-request-id", "x-request-uuid"),
    }[source]
    for name in names:
        if headers.get(name):
            return headers[name]
    return None


def parse(source: str, headers: Mapping[str, str], body: Any) -> GitEvent:
    """The event in ``body``; NotAGitEvent for anything that is not a push or pull request."""
    if not isinstance(body, Mapping):
        raise NotAGitEvent("the body is not a JSON object")
    if source == "github":
        return _github(headers.get("x-github-event", "push"), body)
    if source == "gitlab":
        return _gitlab(body)
    if "push" in body:
        return _bitbucket_cloud(source, body)
    if "changes" in body:
        return _bitbucket_server(source, body)
    raise NotAGitEvent(f"not a push event (X-Event-Key {headers.get('x-event-key', '?')})")


def _github(kind: str, body: Mapping[str, Any]) -> GitEvent:
    repo = body.get("repository") or {}
    owner = repo.get("owner") or {}
    project = str(owner.get("login") or owner.get("name") or "")
    repository = {
        "name": repo.get("name"),
        "fullName": repo.get("full_name"),
        "url": repo.get("html_url"),
        "cloneUrl": repo.get("clone_url"),
    }
    if kind == "push":
        if body.get("deleted") is True or body.get("after") == _ZERO_SHA:
            raise NotAGitEvent("the push deleted the branch")
        return GitEvent(
            "github", project, str(repo.get("name") or ""), _branch(body.get("ref")), str(body.get("after") or ""),
            "push", repository=repository,
            artifacts=_github_artifacts(body, str(body.get("after") or "")),
        )  # fmt: skip
    if kind == "pull_request":
        pr = body.get("pull_request") or {}
        props = {
            "number": body.get("number", pr.get("number")),
            "draft": pr.get("draft"),
            "state": pr.get("state"),
            "title": pr.get("title"),
            "merged": pr.get("merged"),
            "baseBranch": _get(pr, "base", "ref"),
        }
        return GitEvent(
            "github", project, str(repo.get("name") or ""), str(_get(pr, "head", "ref") or ""),
            str(_get(pr, "head", "sha") or ""), str(body.get("action") or ""),
            repository=repository, properties={k: v for k, v in props.items() if v is not None},
        )  # fmt: skip
    raise NotAGitEvent(f"GitHub {kind!r} events do not trigger pipelines")


def _gitlab(body: Mapping[str, Any]) -> GitEvent:
    kind = body.get("object_kind") or body.get("event_name")
    if kind not in ("push", "tag_push"):
        raise NotAGitEvent(f"GitLab {kind!r} events do not trigger pipelines")
    project = body.get("project") or {}
    path = str(project.get("path_with_namespace") or "")
    namespace, _, slug = path.rpartition("/")
    after = str(body.get("checkout_sha") or body.get("after") or "")
    if not after or after == _ZERO_SHA:
        raise NotAGitEvent("the push deleted the branch")
    return GitEvent(
        "gitlab",
        namespace or str(project.get("namespace") or ""),
        slug or str(project.get("name") or ""),
        _branch(body.get("ref")),
        after,
        str(kind),
        project_aliases=(str(project.get("namespace") or ""),),
        repository={"name": project.get("name"), "fullName": path, "url": project.get("web_url")},
        artifacts=_gitlab_artifacts(body, str(body.get("after") or after)),
    )


def _bitbucket_cloud(source: str, body: Mapping[str, Any]) -> GitEvent:
    repo = body.get("repository") or {}
    changes = _get(body, "push", "changes") or []
    change = next((c for c in changes if isinstance(c, Mapping) and isinstance(c.get("new"), Mapping)), None)
    if change is None:
        raise NotAGitEvent("the push has no new commits (a deleted branch?)")
    new = change["new"]
    full_name = str(repo.get("full_name") or "")
    project, _, slug = full_name.partition("/")
    return GitEvent(
        source,
        project or str(_get(repo, "workspace", "slug") or ""),
        slug or str(repo.get("name") or ""),
        str(new.get("name") or ""),
        str(_get(new, "target", "hash") or ""),
        "repo:push",
        repository={
            "name": repo.get("name"),
            "fullName": full_name,
            "url": _get(repo, "links", "html", "href"),
        },
    )


def _bitbucket_server(source: str, body: Mapping[str, Any]) -> GitEvent:
    repo = body.get("repository") or {}
    changes = [c for c in body.get("changes") or [] if isinstance(c, Mapping) and c.get("type") != "DELETE"]
    if not changes:
        raise NotAGitEvent("the push has no new commits (a deleted branch?)")
    change = changes[0]
    return GitEvent(
        source,
        str(_get(repo, "project", "key") or ""),
        str(repo.get("slug") or ""),
        _branch(_get(change, "ref", "id") or change.get("refId")),
        str(change.get("toHash") or ""),
        "repo:refs_changed",
        repository={
            "name": repo.get("name"),
            "fullName": f"{_get(repo, 'project', 'key')}/{repo.get('slug')}",
        },
    )


def signature_problem(
    source: str, secret: str, headers: Mapping[str, str], raw: bytes
) -> tuple[int, str] | None:
    """(HTTP status, reason) when the request is not signed with ``secret``; None when it is."""
    if source == "gitlab":
        token = headers.get("x-gitlab-token")
        if not token:
            return 401, "missing X-Gitlab-Token"
        if not hmac.compare_digest(token.encode(), secret.encode()):
            return 403, "X-Gitlab-Token does not match the trigger's secret"
        return None
    if source == "github" and headers.get("x-hub-signature-256"):
        header, algorithm = "x-hub-signature-256", "sha256"
    elif source == "github":
        header, algorithm = "x-hub-signature", "sha1"
    else:
        header, algorithm = "x-hub-signature", "sha256"
    given = headers.get(header)
    if not given:
        return 401, f"missing {_title(header)} signature"
    prefix, _, digest = given.partition("=")
    if prefix.lower() != algorithm or not digest:
        return 403, f"{_title(header)} is not a {algorithm} signature"
    expected = hmac.new(secret.encode(), raw, getattr(hashlib, algorithm)).hexdigest()
    if not hmac.compare_digest(expected, digest.strip().lower()):
        return 403, f"{_title(header)} does not match the trigger's secret"
    return None


def _title(header: str) -> str:
    return "-".join(part.capitalize() for part in header.split("-"))
