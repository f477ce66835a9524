"""Artifact downloads through the account registry: embedded, http (a real server on 127.0.0.1)
and git/repo (real repositories on disk, the git CLI)."""

from __future__ import annotations

import base64
import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from gennaker.artifacts import ArtifactAccountNotFound, ArtifactAccounts, ArtifactError, ArtifactFetchFailed
from gennaker.artifacts.content import extract_tarball, manifest_text
from gennaker.config import ConfigError, load_settings
from tests.artifacts.conftest import git, make_repo


def _accounts(tmp_path: Path, **overrides: Any) -> ArtifactAccounts:
    settings = load_settings(environ={}, overrides={"data_dir": str(tmp_path), **overrides})
    return ArtifactAccounts.from_settings(settings)


def _names(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return {
            m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
            for m in archive.getmembers()
            if m.isfile()
        }


def test_embedded_base64_decodes_the_reference(tmp_path: Path) -> None:
    accounts = _accounts(tmp_path)
    artifact = {
        "type": "embedded/base64",
        "name": "m",
        "reference": base64.b64encode(b"kind: Pod\n").decode(),
    }
    assert accounts.fetch(artifact) == b"kind: Pod\n"
    assert accounts.fetch({**artifact, "artifactAccount": "embedded-artifact"}) == b"kind: Pod\n"


def test_embedded_bad_base64_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="reference is not valid base64"):
        _accounts(tmp_path).fetch({"type": "embedded/base64", "name": "m", "reference": "%%%"})


def test_the_default_listing_has_embedded_and_anonymous_http(tmp_path: Path) -> None:
    assert _accounts(tmp_path).credentials() == [
        {
            "name": "embedded-artifact",
            "types": ["embedded/base64", "remote/base64"],
            "type": "artifacts-embedded",
        },
        {"name": "no-auth-http-account", "types": ["http/file"], "type": "artifacts-http"},
    ]


def test_an_unknown_account_is_named_as_clouddriver_does(tmp_path: Path) -> None:
    with pytest.raises(ArtifactAccountNotFound) as caught:
        _accounts(tmp_path).fetch({"type": "http/file", "artifactAccount": "nope", "reference": "http://x/"})
    assert caught.value.message == "Credentials 'nope' supporting artifact type 'http/file' cannot be found"
    assert caught.value.status == 404


def test_an_unsupported_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        ArtifactAccountNotFound, match="no artifact account supports artifact type 's3/object'"
    ):
        _accounts(tmp_path).fetch({"type": "s3/object", "reference": "s3://b/k"})


def test_http_file_is_fetched_from_a_real_server(
    tmp_path: Path, http_files: tuple[str, dict[str, bytes]]
) -> None:
    base, files = http_files
    files["/manifest.yml"] = b"apiVersion: v1\nkind: ConfigMap\n"
    data = _accounts(tmp_path).fetch({"type": "http/file", "reference": f"{base}/manifest.yml"})
    assert data == b"apiVersion: v1\nkind: ConfigMap\n"


def test_http_status_errors_name_the_url(tmp_path: Path, http_files: tuple[str, dict[str, bytes]]) -> None:
    base, _ = http_files
    with pytest.raises(ArtifactFetchFailed, match=r"no-auth-http-account.*missing.*HTTP status 404"):
        _accounts(tmp_path).fetch({"type": "http/file", "reference": f"{base}/missing"})


def test_http_basic_auth_is_sent_and_not_to_other_hosts(
    tmp_path: Path, http_files: tuple[str, dict[str, bytes]]
) -> None:
    base, _ = http_files
    accounts = _accounts(
        tmp_path, **{"artifacts.http.accounts": [{"name": "intranet", "username": "u", "password": "p"}]}
    )
    assert [c["name"] for c in accounts.credentials()] == ["embedded-artifact", "intranet"]
    sent = accounts.fetch({"type": "http/file", "artifactAccount": "intranet", "reference": f"{base}/auth"})
    assert sent == b"Basic " + base64.b64encode(b"u:p")
    other = base.replace("127.0.0.1", "localhost")
    redirected = accounts.fetch(
        {"type": "http/file", "artifactAccount": "intranet", "reference": f"{base}/redirect?{other}/auth"}
    )
    assert redirected == b"none"


def test_http_respects_the_outbound_deny_list(
    tmp_path: Path, http_files: tuple[str, dict[str, bytes]]
) -> None:
    base, files = http_files
    files["/x"] = b"x"
    accounts = _accounts(tmp_path, **{"outbound.deny": ["127.0.0.0/8"]})
    with pytest.raises(ArtifactError, match="denied: matches the deny list entry '127.0.0.0/8'"):
        accounts.fetch({"type": "http/file", "reference": f"{base}/x"})


def test_http_can_be_disabled(tmp_path: Path) -> None:
    accounts = _accounts(tmp_path, **{"artifacts.http.enabled": False})
    with pytest.raises(ArtifactAccountNotFound):
        accounts.fetch({"type": "http/file", "reference": "http://127.0.0.1/"})


def _git_accounts(tmp_path: Path, roots: list[str]) -> ArtifactAccounts:
    return _accounts(tmp_path, **{"artifacts.gitrepo.accounts": [{"name": "gitrepo", "local_roots": roots}]})


def test_git_repo_archives_a_sub_path_of_the_default_branch(tmp_path: Path) -> None:
    repo = tmp_path / "repos" / "app"
    make_repo(repo, {"deploy/base/kustomization.yaml": "resources: []\n", "README.md": "hi\n"})
    accounts = _git_accounts(tmp_path, [str(tmp_path / "repos")])
    data = accounts.fetch({"type": "git/repo", "reference": str(repo), "location": "deploy/base"})
    assert _names(data) == {"deploy/base/kustomization.yaml": b"resources: []\n"}
    whole = accounts.fetch({"type": "git/repo", "reference": f"file://{repo}", "artifactAccount": "gitrepo"})
    assert set(_names(whole)) == {"deploy/base/kustomization.yaml", "README.md"}


def test_git_repo_reads_a_branch_and_a_commit(tmp_path: Path) -> None:
    repo = tmp_path / "repos" / "app"
    first = make_repo(repo, {"a.yaml": "v: 1\n"})
    git(repo, "checkout", "--quiet", "-b", "release")
    (repo / "a.yaml").write_text("v: 2\n")
    git(repo, "commit", "--quiet", "-am", "second")
    git(repo, "checkout", "--quiet", "main")
    accounts = _git_accounts(tmp_path, [str(tmp_path / "repos")])
    artifact = {"type": "git/repo", "reference": str(repo), "metadata": {"subPath": "a.yaml"}}
    assert _names(accounts.fetch(artifact)) == {"a.yaml": b"v: 1\n"}
    assert _names(accounts.fetch({**artifact, "version": "release"})) == {"a.yaml": b"v: 2\n"}
    assert _names(accounts.fetch({**artifact, "version": "release", "location": ""})) == {"a.yaml": b"v: 2\n"}
    assert _names(accounts.fetch({**artifact, "version": first})) == {"a.yaml": b"v: 1\n"}
    assert manifest_text(accounts.fetch(artifact), artifact) == "v: 1\n"


def test_git_repo_errors_say_what_is_wrong(tmp_path: Path) -> None:
    repo = tmp_path / "repos" / "app"
    make_repo(repo, {"a.yaml": "v: 1\n"})
    accounts = _git_accounts(tmp_path, [str(tmp_path / "repos")])
    with pytest.raises(ArtifactError, match="subPath 'nope' does not exist in the repository"):
        accounts.fetch({"type": "git/repo", "reference": str(repo), "location": "nope"})
    with pytest.raises(ArtifactFetchFailed, match="at 'nope'.*git clone failed"):
        accounts.fetch({"type": "git/repo", "reference": str(repo), "version": "nope"})
    with pytest.raises(ArtifactError, match="outside the local_roots of account 'gitrepo'"):
        accounts.fetch({"type": "git/repo", "reference": str(tmp_path / "elsewhere")})
    with pytest.raises(ArtifactError, match="must be relative"):
        accounts.fetch({"type": "git/repo", "reference": str(repo), "location": "../x"})
    with pytest.raises(ArtifactError, match="not supported"):
        accounts.fetch({"type": "git/repo", "reference": "ext::sh -c touch% /tmp/pwned"})


def test_git_repo_without_local_roots_refuses_this_machine(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, {"a.yaml": "v: 1\n"})
    with pytest.raises(ArtifactError, match=r"may not read repositories on this machine.*local_roots"):
        _git_accounts(tmp_path, []).fetch({"type": "git/repo", "reference": str(repo)})


def test_two_accounts_for_a_type_need_a_name(tmp_path: Path) -> None:
    accounts = _accounts(
        tmp_path,
        **{"artifacts.http.accounts": [{"name": "a", "username": "x", "password": "y"}, {"name": "b"}]},
    )
    with pytest.raises(ArtifactError, match="An artifact account must be supplied.*'a', 'b'"):
        accounts.fetch({"type": "http/file", "reference": "http://127.0.0.1/"})


def test_bad_settings_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"artifacts.gitrepo.accounts.0.local_roots"):
        _git_accounts(tmp_path, ["relative/dir"])
    with pytest.raises(ConfigError, match="used twice"):
        _accounts(tmp_path, **{"artifacts.http.accounts": [{"name": "embedded-artifact"}]})


def test_tarball_extraction_refuses_escaping_members(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("../evil")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(ArtifactError, match="points outside the archive"):
        extract_tarball(buffer.getvalue(), tmp_path / "out")
    assert not (tmp_path / "evil").exists()
