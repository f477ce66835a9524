"""Gate's artifact resource: the account listing and ``PUT /artifacts/fetch`` for embedded,
http (a real server on 127.0.0.1) and git/repo (a real repository on disk) artifacts."""

from __future__ import annotations

import base64
import io
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gennaker.services import Services
from tests.api.live import SyncClient
from tests.artifacts.conftest import http_files, make_repo

__all__ = ["http_files"]  # the fixture, shared with tests/artifacts


def test_the_listing_names_every_artifact_account(
    make_api: Callable[..., tuple[Services, SyncClient]], tmp_path: Path
) -> None:
    _, client = make_api(
        **{"artifacts__gitrepo__accounts": [{"name": "repos", "local_roots": [str(tmp_path)]}]}
    )
    answer = client.get("/artifacts/credentials")
    assert answer.status_code == 200
    assert [(c["name"], c["types"]) for c in answer.json()] == [
        ("embedded-artifact", ["embedded/base64", "remote/base64"]),
        ("no-auth-http-account", ["http/file"]),
        ("repos", ["git/repo"]),
    ]


def test_fetch_returns_the_content_of_each_kind(
    make_api: Callable[..., tuple[Services, SyncClient]],
    tmp_path: Path,
    http_files: tuple[str, dict[str, bytes]],
) -> None:
    base, files = http_files
    files["/cm.yml"] = b"kind: ConfigMap\n"
    repo = tmp_path / "repos" / "app"
    make_repo(repo, {"k8s/pod.yml": "kind: Pod\n"})
    _, client = make_api(
        **{"artifacts__gitrepo__accounts": [{"name": "repos", "local_roots": [str(tmp_path / "repos")]}]}
    )
    embedded = {"type": "embedded/base64", "reference": base64.b64encode(b"hello").decode()}
    assert client.put("/artifacts/fetch", json=embedded).content == b"hello"
    http = {"type": "http/file", "artifactAccount": "no-auth-http-account", "reference": f"{base}/cm.yml"}
    assert client.put("/artifacts/fetch", json=http).content == b"kind: ConfigMap\n"
    git: dict[str, Any] = {
        "type": "git/repo",
        "artifactAccount": "repos",
        "reference": str(repo),
        "location": "k8s",
    }
    archive = client.put("/artifacts/fetch", json=git)
    assert archive.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(archive.content), mode="r:gz") as opened:
        assert [m.name for m in opened.getmembers() if m.isfile()] == ["k8s/pod.yml"]


def test_fetch_errors_are_clear(make_api: Callable[..., tuple[Services, SyncClient]]) -> None:
    _, client = make_api()
    missing = client.put(
        "/artifacts/fetch", json={"type": "http/file", "artifactAccount": "x", "reference": "y"}
    )
    assert missing.status_code == 404
    assert missing.json()["message"] == "Credentials 'x' supporting artifact type 'http/file' cannot be found"
    not_object = client.put("/artifacts/fetch", json=["no"])
    assert not_object.status_code == 400
    unreachable = client.put(
        "/artifacts/fetch", json={"type": "http/file", "reference": "http://127.0.0.1:9/x"}
    )
    assert unreachable.status_code == 502 and "cannot connect" in unreachable.json()["message"]
