"""Git push (and GitHub pull request) webhooks with real payload samples and real signatures:
each service's HMAC or token, matching on project/slug/branch/events, delivery-id dedup."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from gennaker import events
from gennaker.model.status import ExecutionStatus
from gennaker.services import Services
from gennaker.store import json as jsonlib
from gennaker.testing import run_until_idle
from tests.triggers.conftest import TestClient, executions_of, save_pipeline

PAYLOADS = Path(__file__).with_name("payloads")
SECRET = "It's a Secret to Everybody"
Client = Callable[[Services], TestClient]


def payload(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def sign(body: bytes, algorithm: str = "sha256", secret: str = SECRET) -> str:
    return f"{algorithm}=" + hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()


def git_trigger(**fields: Any) -> dict[str, Any]:
    return {
        "type": "git",
        "enabled": True,
        "source": "github",
        "project": "codertocat",
        "slug": "hello-world",
        **fields,
    }


def github(
    client: TestClient, body: bytes, *, event: str = "push", delivery: str = "d1", **headers: str
) -> Any:
    return client.post(
        "/webhooks/git/github",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            **headers,
        },
    )


def test_github_push_with_sha256_signature_starts_pipeline(services: Services, client_for: Client) -> None:
    config = save_pipeline(services, triggers=[git_trigger(branch="ma.n", secret=SECRET)])
    body = payload("github_push")
    response = github(client_for(services), body, **{"X-Hub-Signature-256": sign(body)})
    assert response.status_code == 200, response.text
    assert response.json()["eventProcessed"] is True and response.json()["eventId"] == "d1"
    [execution] = executions_of(services, config["id"])
    trigger = execution.trigger
    assert trigger["hash"] == "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
    assert (trigger["branch"], trigger["project"], trigger["slug"]) == ("main", "Codertocat", "Hello-World")
    assert trigger["source"] == "github" and trigger["action"] == "push"
    assert trigger["repository"]["fullName"] == "Codertocat/Hello-World"
    # The secret never reaches the execution or the event log.
    with services.db.read() as conn:
        stored = services.executions.load(conn, execution.id).to_json()
        logged = events.list_events(conn, events.EventQuery(limit=1000))
    assert SECRET not in jsonlib.dumps(stored)
    assert all(SECRET not in jsonlib.dumps(e.body) for e in logged)
    run_until_idle(services)
    with services.db.read() as conn:
        assert services.executions.load(conn, execution.id).status == ExecutionStatus.SUCCEEDED


def test_github_sha1_signature_is_accepted_too(sqlite_services: Services, client_for: Client) -> None:
    config = save_pipeline(sqlite_services, triggers=[git_trigger(secret=SECRET)])
    body = payload("github_push")
    response = github(client_for(sqlite_services), body, **{"X-Hub-Signature": sign(body, "sha1")})
    assert response.json()["eventProcessed"] is True
    assert len(executions_of(sqlite_services, config["id"])) == 1


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, 403),
        ({"X-Hub-Signature-256": sign(b"another body")}, 403),
        ({"X-Hub-Signature-256": sign(payload("github_push"), secret="wrong")}, 403),
    ],
)
def test_github_bad_or_missing_signature_is_refused(
    sqlite_services: Services, client_for: Client, headers: dict[str, str], status: int
) -> None:
    services = sqlite_services
    secured = save_pipeline(services, name="secured", triggers=[git_trigger(secret=SECRET)])
    open_one = save_pipeline(services, name="open", triggers=[git_trigger()])
    response = github(client_for(services), payload("github_push"), **headers)
    assert response.status_code == status
    assert executions_of(services, secured["id"]) == [] and executions_of(services, open_one["id"]) == []
    with services.db.read() as conn:
        rejected = events.list_events(conn, events.EventQuery(types=(events.TRIGGER_REJECTED,)))
    assert rejected and all("signature" in e.body["reason"] for e in rejected)


def test_branch_is_a_full_match_and_project_slug_ignore_case(
    sqlite_services: Services, client_for: Client
) -> None:
    services = sqlite_services
    partial = save_pipeline(services, name="partial", triggers=[git_trigger(branch="mai")])
    full = save_pipeline(services, name="full", triggers=[git_trigger(branch="main|release/.*")])
    any_branch = save_pipeline(services, name="any", triggers=[git_trigger(branch="", project="CODERTOCAT")])
    other_repo = save_pipeline(services, name="other", triggers=[git_trigger(slug="another")])
    github(client_for(services), payload("github_push"))
    counts = {
        c["name"]: len(executions_of(services, c["id"])) for c in (partial, full, any_branch, other_repo)
    }
    assert counts == {"partial": 0, "full": 1, "any": 1, "other": 0}


def test_duplicate_github_delivery_starts_one_execution(
    sqlite_services: Services, client_for: Client
) -> None:
    config = save_pipeline(sqlite_services, triggers=[git_trigger()])
    client = client_for(sqlite_services)
    body = payload("github_push")
    first = github(client, body, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958").json()
    retry = github(client, body, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958").json()
    other = github(client, body, delivery="another-delivery").json()
    assert retry["pipelines"][0]["executionId"] == first["pipelines"][0]["executionId"]
    assert other["pipelines"][0]["executionId"] != first["pipelines"][0]["executionId"]
    assert len(executions_of(sqlite_services, config["id"])) == 2


def test_github_pull_request_events_filter(sqlite_services: Services, client_for: Client) -> None:
    services = sqlite_services
    on_open = save_pipeline(services, name="on-open", triggers=[git_trigger(events=["pull_request:opened"])])
    on_plain = save_pipeline(
        services, name="on-plain", triggers=[git_trigger(events=["opened", "synchronize"])]
    )
    on_close = save_pipeline(services, name="on-close", triggers=[git_trigger(events=["closed"])])
    push_only = save_pipeline(services, name="push-only", triggers=[git_trigger(events=["push"])])
    client = client_for(services)
    github(client, payload("github_pull_request"), event="pull_request", delivery="pr-1")
    counts = {
        c["name"]: len(executions_of(services, c["id"])) for c in (on_open, on_plain, on_close, push_only)
    }
    assert counts == {"on-open": 1, "on-plain": 1, "on-close": 0, "push-only": 0}
    [execution] = executions_of(services, on_open["id"])
    assert execution.trigger["branch"] == "changes" and execution.trigger["action"] == "opened"
    assert execution.trigger["hash"] == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert execution.trigger["properties"]["number"] == 2
    closed = orjson.loads(payload("github_pull_request"))
    closed["action"] = "closed"
    github(client, orjson.dumps(closed), event="pull_request", delivery="pr-2")
    assert len(executions_of(services, on_close["id"])) == 1
    ping = github(client, b'{"zen": "Keep it logically awesome.", "hook_id": 1}', event="ping", delivery="p")
    assert ping.status_code == 200 and ping.json()["eventProcessed"] is False


def test_gitlab_push_with_token(services: Services, client_for: Client) -> None:
    config = save_pipeline(
        services,
        triggers=[
            git_trigger(source="gitlab", project="mike", slug="Diaspora", branch="master", secret=SECRET)
        ],
    )
    client = client_for(services)
    body = payload("gitlab_push")
    headers = {
        "Content-Type": "application/json",
        "X-Gitlab-Event": "Push Hook",
        "X-Gitlab-Event-UUID": "u-1",
    }
    wrong = client.post("/webhooks/git/gitlab", content=body, headers={**headers, "X-Gitlab-Token": "nope"})
    missing = client.post("/webhooks/git/gitlab", content=body, headers=headers)
    assert (wrong.status_code, missing.status_code) == (403, 401)
    assert executions_of(services, config["id"]) == []
    ok = client.post("/webhooks/git/gitlab", content=body, headers={**headers, "X-Gitlab-Token": SECRET})
    again = client.post("/webhooks/git/gitlab", content=body, headers={**headers, "X-Gitlab-Token": SECRET})
    assert ok.json()["eventProcessed"] is True and again.json()["eventId"] == "u-1"
    [execution] = executions_of(services, config["id"])
    assert execution.trigger["hash"] == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    assert (execution.trigger["project"], execution.trigger["slug"], execution.trigger["branch"]) == (
        "mike",
        "diaspora",
        "master",
    )


def test_bitbucket_push_with_sha256_signature(sqlite_services: Services, client_for: Client) -> None:
    services = sqlite_services
    config = save_pipeline(
        services,
        triggers=[git_trigger(source="bitbucket", project="ntrs", slug="jenkins-jobs", secret=SECRET)],
    )
    body = payload("bitbucket_push")
    headers = {"Content-Type": "application/json", "X-Event-Key": "repo:push", "X-Request-UUID": "bb-1"}
    client = client_for(services)
    bad = client.post(
        "/webhooks/git/bitbucket", content=body, headers={**headers, "X-Hub-Signature": sign(b"x")}
    )
    assert bad.status_code == 403
    good = client.post(
        "/webhooks/git/bitbucket", content=body, headers={**headers, "X-Hub-Signature": sign(body)}
    )
    assert good.status_code == 200 and good.json()["eventProcessed"] is True
    [execution] = executions_of(services, config["id"])
    assert execution.trigger["hash"] == "10d3a9af0c2daf86d429c22f6a8c34d8a6ab9114"
    assert execution.trigger["branch"] == "master" and execution.trigger["eventId"] == "bb-1"


def test_the_signature_is_checked_before_the_branch(sqlite_services: Services, client_for: Client) -> None:
    """Item 5 of issue #10: the branch regex ran (2 s for a catastrophic one) before the signature
    was checked, and a trigger whose branch did not match never checked it at all. Now a forged
    delivery for a repository with a secured trigger is refused whatever its branch."""
    services = sqlite_services
    save_pipeline(services, name="secured", triggers=[git_trigger(branch="^(a+)+$", secret=SECRET)])
    forged = github(client_for(services), payload("github_push"), **{"X-Hub-Signature-256": sign(b"x")})
    assert forged.status_code == 403
    signed = github(
        client_for(services), payload("github_push"), delivery="d2",
        **{"X-Hub-Signature-256": sign(payload("github_push"))},
    )  # fmt: skip
    assert signed.status_code == 200 and signed.json()["eventProcessed"] is False


def test_a_catastrophic_branch_regex_is_refused_not_run() -> None:
    """Item 5 of issue #10: branch regexes run under the expression language's backtracking guard."""
    from gennaker.triggers.git import event_mismatch
    from gennaker.triggers.git_payloads import parse

    event = parse(
        "github",
        {"x-github-event": "push"},
        {**orjson.loads(payload("github_push")), "ref": "refs/heads/" + "a" * 40 + "!"},
    )
    problem = event_mismatch(git_trigger(branch="^(a+)+$"), event)
    assert problem is not None and "could backtrack too long on 41 characters" in problem
    assert "'^(a+)+$'" in problem


def test_github_push_artifacts_are_the_changed_files(sqlite_services: Services, client_for: Client) -> None:
    """Echo's GitHubArtifactExtractor: one github/file per added or modified file; a trigger's
    expectedArtifactIds must match one of them, and the pipeline's expected artifact binds it."""
    services = sqlite_services
    expected = {
        "id": "manifest",
        "displayName": "manifest",
        "matchArtifact": {"type": "github/file", "name": "deploy/.*\\.yml"},
    }
    config = save_pipeline(
        services, expectedArtifacts=[expected], triggers=[git_trigger(expectedArtifactIds=["manifest"])]
    )
    data = orjson.loads(payload("github_push"))
    data["repository"]["contents_url"] = (
        "https://api.github.com/repos/Codertocat/Hello-World/contents/{+path}"
    )
    client = client_for(services)
    readme_only = github(client, orjson.dumps(data), delivery="d-readme")
    assert readme_only.json()["eventProcessed"] is False
    assert executions_of(services, config["id"]) == []
    data["commits"][0]["added"] = ["deploy/app.yml"]
    hit = github(client, orjson.dumps(data), delivery="d-deploy")
    assert hit.json()["eventProcessed"] is True
    [execution] = executions_of(services, config["id"])
    sha = data["after"]
    assert execution.trigger["artifacts"] == [
        {
            "type": "github/file",
            "name": "deploy/app.yml",
            "version": sha,
            "reference": "https://api.github.com/repos/Codertocat/Hello-World/contents/deploy/app.yml",
        },
        {
            "type": "github/file",
            "name": "README.md",
            "version": sha,
            "reference": "https://api.github.com/repos/Codertocat/Hello-World/contents/README.md",
        },
    ]
    [bound] = execution.trigger["resolvedExpectedArtifacts"]
    assert bound["boundArtifact"]["name"] == "deploy/app.yml"


def test_gitlab_push_artifacts_use_the_raw_file_api() -> None:
    from gennaker.triggers.git_payloads import parse

    event = parse("gitlab", {}, orjson.loads(payload("gitlab_push")))
    base = "http://example.com/api/v4/projects/mike%2Fdiaspora/repository/files"
    assert [a["reference"] for a in event.trigger_fields()["artifacts"]] == [
        f"{base}/CHANGELOG/raw",
        f"{base}/app%2Fcontroller%2Fapplication.rb/raw",
    ]
