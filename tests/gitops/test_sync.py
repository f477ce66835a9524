"""Pipelines synced from real git repositories made by the tests (file paths, the git CLI):
all of a commit or nothing, errors with file and line, read-only managed pipelines, deletions,
templates, and syncs requested by a signed push webhook and run by the scheduler."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gennaker.api import create_app
from gennaker.gitops.sync import Gitops
from gennaker.services import Services
from gennaker.testing import make_services, run_until_idle
from gennaker.triggers.scheduler import Scheduler
from tests.api.conftest import create_application
from tests.api.live import SyncClient
from tests.engine.fakes import EngineTestPlugin

PAYLOAD = Path(__file__).parents[1] / "triggers" / "payloads" / "github_push.json"


class Repo:
    """A git repository on this machine that the test commits to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir()
        self._git("init", "--quiet", "-b", "main")
        self._git("config", "user.name", "Ada Lovelace")
        self._git("config", "user.email", "ada@example.com")

    def _git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(self.path), *args], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def commit(self, files: dict[str, Any], *, remove: tuple[str, ...] = (), message: str = "change") -> str:
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
        for name in remove:
            self._git("rm", "--quiet", name)
        self._git("add", "-A")
        self._git("commit", "--quiet", "--allow-empty", "-m", message)
        return self._git("rev-parse", "HEAD")


def _pipeline(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "stages": [{"refId": "1", "type": "noop", "name": "Go"}], **extra}


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "pipelines")


@pytest.fixture
def make(
    database_url: str, tmp_path: Path, repo: Repo
) -> Iterator[Callable[..., tuple[Services, SyncClient]]]:
    made: list[tuple[Services, SyncClient]] = []

    def factory(**repository: Any) -> tuple[Services, SyncClient]:
        services = make_services(
            database_url,
            plugins=(EngineTestPlugin(),),
            data_dir=str(tmp_path / "data"),
            gitops={
                "repositories": [{"name": "main", "url": str(repo.path), "path": "pipelines", **repository}]
            },
        )
        client = SyncClient(create_app(services))
        create_application(client, "shop")
        create_application(client, "billing")
        made.append((services, client))
        return services, client

    yield factory
    for services, client in made:
        client.close()
        services.close()


GOOD = {
    "pipelines/shop/deploy.json": _pipeline("deploy"),
    "pipelines/shop/nightly.yaml": "name: nightly\nstages:\n  - refId: '1'\n    type: noop\n    name: Go\n",
    "pipelines/release.json": _pipeline("release", application="billing"),
    "README.md": "not a pipeline",
}


def test_a_commit_syncs_three_pipelines_for_two_applications(make: Any, repo: Repo) -> None:
    services, client = make()
    sha = repo.commit(GOOD, message="first pipelines")
    report = client.post("/gitops/main/sync").json()
    assert report["status"] == "applied", report
    assert report["commit"] == sha and report["author"] == "Ada Lovelace <ada@example.com>"
    assert sorted(c["key"] for c in report["changes"]) == ["billing/release", "shop/deploy", "shop/nightly"]
    assert {c["name"] for c in client.get("/applications/shop/pipelineConfigs").json()} == {
        "deploy",
        "nightly",
    }
    release = client.get("/applications/billing/pipelineConfigs/release").json()
    history = client.get(f"/pipelineConfigs/{release['id']}/history").json()
    assert sha[:12] in history[0]["lastModifiedBy"] and "Ada Lovelace" in history[0]["lastModifiedBy"]

    again = client.post("/gitops/main/sync").json()
    assert again["status"] == "unchanged"
    assert len(client.get(f"/pipelineConfigs/{release['id']}/history").json()) == 1

    # Managed pipelines are read-only through the API, with a message saying where to change them.
    refused = client.post("/pipelines", json={**release, "description": "edited"})
    assert refused.status_code == 409
    assert "managed by gitops repository main" in refused.json()["message"]
    assert "pipelines/release.json" in refused.json()["message"]
    assert client.delete("/pipelines/billing/release").status_code == 409
    [status] = client.get("/gitops").json()
    assert status["lastCommit"] == sha and status["lastStatus"] == "unchanged"
    assert len(status["managed"]) == 3

    # A managed pipeline runs like any other.
    started = client.post("/pipelines/shop/deploy", json={"type": "manual"})
    assert started.status_code == 202
    run_until_idle(services)
    assert client.get(started.json()["ref"]).json()["status"] == "SUCCEEDED"


def test_a_bad_commit_applies_nothing_and_a_later_good_one_applies(make: Any, repo: Repo) -> None:
    _, client = make()
    repo.commit(GOOD)
    assert client.post("/gitops/main/sync").json()["status"] == "applied"
    bad = repo.commit(
        {
            "pipelines/shop/deploy.json": _pipeline("deploy", description="changed"),
            "pipelines/shop/broken.yaml": "name: broken\nstages:\n  - refId: [1\n",
            "pipelines/shop/unknown.json": {
                "name": "unknown",
                "stages": [{"refId": "1", "type": "noSuchStage", "name": "x"}],
            },
        },
        remove=("pipelines/shop/nightly.yaml",),
    )
    planned = client.get("/gitops/main/plan").json()
    assert planned["status"] == "failed"
    report = client.post("/gitops/main/sync").json()
    assert report["status"] == "failed" and report["commit"] == bad
    errors = {e["file"]: e for e in report["errors"]}
    assert errors["pipelines/shop/broken.yaml"]["line"] == 4
    assert "is not valid YAML" in errors["pipelines/shop/broken.yaml"]["message"]
    unknown = errors["pipelines/shop/unknown.json"]
    assert unknown["line"] == 6 and "$.stages[0].type" in unknown["message"]
    # Nothing of the bad commit was applied: the old pipelines stand and keep running.
    deploy = client.get("/applications/shop/pipelineConfigs/deploy").json()
    assert "description" not in deploy
    assert client.get("/applications/shop/pipelineConfigs/nightly").status_code == 200
    assert client.get("/gitops").json()[0]["lastStatus"] == "failed"

    repo.commit({}, remove=("pipelines/shop/broken.yaml", "pipelines/shop/unknown.json"))
    fixed = client.post("/gitops/main/sync").json()
    assert fixed["status"] == "applied", fixed
    actions = {c["key"]: c["action"] for c in fixed["changes"]}
    assert actions == {"billing/release": "unchanged", "shop/deploy": "update", "shop/nightly": "delete"}
    assert client.get("/applications/shop/pipelineConfigs/nightly").status_code == 404
    assert client.get("/applications/shop/pipelineConfigs/deploy").json()["description"] == "changed"
    assert [s["status"] for s in client.get("/gitops/main/syncs").json()] == ["applied", "failed", "applied"]


def test_templates_and_templated_pipelines_sync_together(make: Any, repo: Repo) -> None:
    services, client = make(applications=["shop"])
    template = {
        "schema": "v2",
        "id": "base",
        "tag": "stable",
        "metadata": {"name": "Base", "description": "d", "owner": "o@example.com"},
        "variables": [{"name": "who", "type": "string"}],
        "pipeline": {
            "stages": [{"refId": "a", "type": "noop", "name": "A", "custom": "${templateVariables.who}"}]
        },
    }
    instance = {
        "schema": "v2",
        "type": "templatedPipeline",
        "name": "templated",
        "template": {"reference": "spinnaker://base:stable"},
        "variables": {"who": "gitops"},
    }
    repo.commit({"pipelines/templates/base.json": template, "pipelines/shop/templated.json": instance})
    report = client.post("/gitops/main/sync").json()
    assert report["status"] == "applied", report
    started = client.post("/pipelines/shop/templated", json={"type": "manual"})
    run_until_idle(services)
    execution = client.get(started.json()["ref"]).json()
    assert execution["status"] == "SUCCEEDED" and execution["stages"][0]["context"]["custom"] == "gitops"

    # An application the repository does not manage is refused.
    repo.commit({"pipelines/billing/x.json": _pipeline("x")})
    refused = client.post("/gitops/main/sync").json()
    assert refused["status"] == "failed"
    assert "does not manage application billing" in refused["errors"][0]["message"]


def test_a_signed_push_requests_a_sync_that_the_scheduler_runs(
    make: Any, repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITOPS_HOOK_SECRET", "s3cret")
    services, client = make(
        webhook_repository="Codertocat/Hello-World", webhook_secret_env="GITOPS_HOOK_SECRET"
    )
    repo.commit(GOOD)
    body = PAYLOAD.read_bytes()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": "g1"}
    unsigned = client.post("/webhooks/git/github", content=body, headers=headers).json()
    assert unsigned["gitops"] == [
        {"repository": "main", "sync": "refused", "reason": unsigned["gitops"][0]["reason"]}
    ]
    signature = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    signed = client.post(
        "/webhooks/git/github",
        content=body,
        headers={**headers, "X-GitHub-Delivery": "g2", "X-Hub-Signature-256": signature},
    ).json()
    assert signed["gitops"][0]["sync"] == "requested"
    assert client.get("/gitops").json()[0]["requestedAt"] is not None

    scheduler = Scheduler(services)

    async def one_round() -> dict[str, Any]:
        try:
            return await scheduler.run_once()
        finally:
            await scheduler.aclose()

    done = asyncio.run(one_round())
    assert done["gitops"] == 1
    assert client.get("/gitops").json()[0]["lastStatus"] == "applied"
    assert len(client.get("/applications/shop/pipelineConfigs").json()) == 2


def test_an_unreadable_repository_fails_cleanly(make: Any, repo: Repo, tmp_path: Path) -> None:
    services, client = make(url=str(tmp_path / "nowhere"))
    report = Gitops(services).sync("main")
    assert report.status == "failed" and "git fetch failed: fatal:" in report.errors[0].message
    assert client.get("/gitops/main/syncs").json()[0]["status"] == "failed"
    assert client.post("/gitops/other/sync").status_code == 404


def test_policies_kept_in_the_repository_apply_after_the_sync(make: Any, repo: Repo) -> None:
    services, client = make()
    policy = {
        "kind": "policy",
        "name": "prod-after-judgment",
        "scopes": ["stage"],
        "rule": '!("prod" in input.stage.accounts) || input.ancestors.exists(a, a.type == "manualJudgment")',
        "message": "a deploy to prod must come after a manualJudgment",
    }
    deploy = {
        "name": "deploy",
        "stages": [{"refId": "1", "type": "scripted", "name": "Go", "account": "prod"}],
    }
    repo.commit({"pipelines/policies/prod.json": policy, "pipelines/shop/deploy.json": deploy})
    report = client.post("/gitops/main/sync").json()
    assert report["status"] == "applied", report
    assert {
        "action": "create",
        "kind": "policy",
        "key": "prod-after-judgment",
        "file": "pipelines/policies/prod.json",
    } in report["changes"]
    assert [p["name"] for p in client.get("/policies").json()] == ["prod-after-judgment"]

    started = client.post("/pipelines/shop/deploy", json={"type": "manual"})
    run_until_idle(services)
    execution = client.get(started.json()["ref"]).json()
    assert execution["status"] == "TERMINAL"
    assert "prod-after-judgment" in execution["stages"][0]["context"]["exception"]["details"]["errors"][0]

    # A commit is judged by the policies it leaves in force, its own included.
    save_policy = {
        "kind": "policy",
        "name": "prod-save",
        "scopes": ["save"],
        "rule": 'input.stages.all(s, !("prod" in s.accounts) || "manualJudgment" in s.ancestorTypes)',
        "message": "a deploy to prod must come after a manualJudgment",
    }
    repo.commit(
        {
            "pipelines/policies/save.json": save_policy,
            "pipelines/shop/other.json": {**deploy, "name": "other"},
        }
    )
    refused = client.post("/gitops/main/sync").json()
    assert refused["status"] == "failed"
    assert [e["file"] for e in refused["errors"]] == ["pipelines/shop/other.json"]
    assert "denied by policy prod-save" in refused["errors"][0]["message"]

    repo.commit(
        {},
        remove=("pipelines/policies/prod.json", "pipelines/policies/save.json", "pipelines/shop/other.json"),
    )
    assert client.post("/gitops/main/sync").json()["status"] == "applied"
    assert client.get("/policies").json() == []
    started = client.post("/pipelines/shop/deploy", json={"type": "manual"})
    run_until_idle(services)
    assert client.get(started.json()["ref"]).json()["status"] == "SUCCEEDED"

    repo.commit({"pipelines/policies/bad.yaml": "kind: policy\nname: bad\nrule: '1 +'\nmessage: m\n"})
    bad = client.post("/gitops/main/sync").json()
    assert bad["status"] == "failed" and "not valid CEL" in bad["errors"][0]["message"]
