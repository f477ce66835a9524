"""``git/repo`` accounts: the reference is a repository URL, ``version`` a branch, tag or commit
(default: the repository's default branch), ``location`` (or ``metadata.subPath``) a path inside
it. The download is a gzipped tarball of that tree, made with the git CLI (``git clone`` then
``git archive``), as Clouddriver's GitRepoArtifactCredentials.

Repositories on this machine (plain paths, ``file://`` URLs) are read only under the account's
``local_roots``; remote ones (``https://``, ``ssh://``, ``user@host:path``) pass the outbound
policy first. Credentials reach git through the environment (``GIT_CONFIG_*``), never the command
line, so they do not show in process lists or error messages.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from gennaker.artifacts.errors import ArtifactError, ArtifactFetchFailed
from gennaker.artifacts.settings import GitRepoAccountSettings
from gennaker.outbound import FetchFailed, OutboundDenied, OutboundPolicy

_SCP_LIKE = re.compile(r"^(?:[A-Za-z0-9._~-]+@)?(?P<host>[A-Za-z0-9.-]+):(?!//)(?P<path>.+)$")
_SHA = re.compile(r"^[0-9a-fA-F]{7,40}$")
_SAFE_REF = re.compile(r"^[A-Za-z0-9._/@+-]+$")


@dataclass(frozen=True)
class RepoLocation:
    """Where a reference points: a local directory, or a remote URL and its host."""

    url: str
    local: Path | None = None
    host: str | None = None
    protocol: str = "file"


def repo_subpath(artifact: Mapping[str, Any]) -> str:
    """``location``, else ``metadata.subPath``, else "" (the whole repository)."""
    location = artifact.get("location")
    if isinstance(location, str) and location.strip():
        return location.strip()
    metadata = artifact.get("metadata")
    if isinstance(metadata, Mapping) and isinstance(metadata.get("subPath"), str):
        return str(metadata["subPath"]).strip()
    return ""


@dataclass(frozen=True)
class GitRepoAccount:
    """Clones and archives with the git CLI."""

    config: GitRepoAccountSettings
    policy: OutboundPolicy
    git: str
    timeout_s: float
    max_bytes: int
    types: tuple[str, ...] = ("git/repo",)
    kind: str = "git/repo"
    name: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.config.name)

    def handles(self, artifact_type: str) -> bool:
        """Only ``git/repo``."""
        return artifact_type in self.types

    def download(self, artifact: Mapping[str, Any]) -> bytes:
        """A ``.tar.gz`` of the repository (or of its sub-path) at the version asked for."""
        reference = artifact.get("reference")
        if not isinstance(reference, str) or not reference.strip():
            raise ArtifactError(
                f"git/repo artifact {artifact.get('name')!r} has no reference (the repository's URL or path)"
            )
        where = self.locate(reference.strip())
        version = str(artifact.get("version") or "").strip()
        if version and (version.startswith("-") or not _SAFE_REF.match(version)):
            raise ArtifactError(
                f"git/repo artifact {reference!r}: version {version!r} is not a branch, tag or commit"
            )
        subpath = repo_subpath(artifact)
        if subpath.startswith("-") or ".." in Path(subpath).parts or subpath.startswith("/"):
            raise ArtifactError(
                f"git/repo artifact {reference!r}: subPath {subpath!r} must be relative, without '..'"
            )
        with tempfile.TemporaryDirectory(prefix="gennaker-gitrepo-") as tmp:
            return self._archive(where, version, subpath, Path(tmp), reference.strip())

    def locate(self, reference: str) -> RepoLocation:
        """Classify ``reference`` and check it against ``local_roots`` or the outbound policy."""
        if reference.startswith("-"):
            raise ArtifactError(f"git/repo reference {reference!r} is not a repository URL or path")
        parts = urlsplit(reference)
        if parts.scheme == "file" or (not parts.scheme and reference.startswith("/")):
            path = Path(unquote(parts.path) if parts.scheme == "file" else reference)
            return RepoLocation(url=str(path), local=self._allowed_local(reference, path))
        if parts.scheme in ("http", "https"):
            self._check_host(reference, reference)
            return RepoLocation(url=reference, host=parts.hostname, protocol=parts.scheme)
        if parts.scheme in ("ssh", "git"):
            if not parts.hostname:
                raise ArtifactError(f"git/repo reference {reference!r} has no host")
            self._check_host(reference, f"https://{parts.hostname}/")
            return RepoLocation(url=reference, host=parts.hostname, protocol=parts.scheme)
        scp = _SCP_LIKE.match(reference)
        if scp and not parts.scheme:
            self._check_host(reference, f"https://{scp.group('host')}/")
            return RepoLocation(url=reference, host=scp.group("host"), protocol="ssh")
        raise ArtifactError(
            f"git/repo reference {reference!r} is not supported: use an absolute path or file:// URL "
            "(a repository on this machine), or an https://, ssh:// or user@host:path URL"
        )

    def _allowed_local(self, reference: str, path: Path) -> Path:
        if not self.config.local_roots:
            raise ArtifactError(
                f"git/repo account {self.name!r} may not read repositories on this machine ({reference!r}): "
                f"list their directory in artifacts.gitrepo.accounts[name={self.name!r}].local_roots"
            )
        resolved = path.resolve()
        for root in self.config.local_roots:
            if resolved == root.resolve() or resolved.is_relative_to(root.resolve()):
                if not resolved.exists():
                    raise ArtifactError(
                        f"git/repo reference {reference!r}: no such repository on this machine"
                    )
                return resolved
        roots = ", ".join(str(r) for r in self.config.local_roots)
        raise ArtifactError(
            f"git/repo reference {reference!r} is outside the local_roots of account {self.name!r} ({roots})"
        )

    def _check_host(self, reference: str, url: str) -> None:
        try:
            self.policy.check(url, "artifact")
        except OutboundDenied as exc:
            raise ArtifactError(f"git/repo reference {reference!r} refused: {exc.reason}") from None
        except FetchFailed as exc:
            raise ArtifactFetchFailed(f"git/repo reference {reference!r}: {exc.reason}") from None

    def _archive(self, where: RepoLocation, version: str, subpath: str, tmp: Path, reference: str) -> bytes:
        clone = tmp / "repo"
        env = self._environment(where, tmp)
        label = f"git/repo {reference!r}" + (f" at {version!r}" if version else "")
        treeish = "HEAD"
        branch = ["--branch", version] if version else []
        shallow = self._run(
            ["clone", "--quiet", "--depth", "1", *branch, "--", where.url, str(clone)], env, tmp
        )
        if shallow.returncode != 0:
            if not (version and _SHA.match(version)):
                raise ArtifactFetchFailed(f"{label}: git clone failed: {_tail(shallow.stderr)}")
            # A commit, not a branch or tag: a full clone, then archive that commit.
            full = self._run(["clone", "--quiet", "--no-checkout", "--", where.url, str(clone)], env, tmp)
            if full.returncode != 0:
                raise ArtifactFetchFailed(f"{label}: git clone failed: {_tail(full.stderr)}")
            treeish = version
        output = tmp / "archive.tar.gz"
        paths = ["--", subpath] if subpath else []
        archived = self._run(
            ["archive", "--format=tar.gz", f"--output={output}", treeish, *paths], env, clone
        )
        if archived.returncode != 0:
            stderr = archived.stderr
            if subpath and "did not match" in stderr:
                raise ArtifactError(f"{label}: subPath {subpath!r} does not exist in the repository")
            raise ArtifactFetchFailed(f"{label}: git archive failed: {_tail(stderr)}")
        size = output.stat().st_size
        if size > self.max_bytes:
            raise ArtifactFetchFailed(f"{label}: the archive is {size} bytes, more than {self.max_bytes}")
        return output.read_bytes()

    def _run(self, args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [self.git, *args],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except FileNotFoundError:
            raise ArtifactFetchFailed(
                f"git/repo account {self.name!r}: the git executable {self.git!r} was not found "
                "(install git or set artifacts.gitrepo.git)"
            ) from None
        except subprocess.TimeoutExpired:
            raise ArtifactFetchFailed(
                f"git/repo account {self.name!r}: git {args[0]} took longer than {self.timeout_s} seconds"
            ) from None

    def _environment(self, where: RepoLocation, tmp: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            GIT_TERMINAL_PROMPT="0",
            GIT_CONFIG_NOSYSTEM="1",
            GIT_ALLOW_PROTOCOL=where.protocol if where.protocol != "file" else "file",
            GIT_ASKPASS="/bin/false",
            SSH_ASKPASS="/bin/false",
        )
        config: list[tuple[str, str]] = [("safe.directory", "*"), ("protocol.file.allow", "always")]
        header = self._auth_header()
        if header and where.protocol in ("http", "https"):
            config.append(("http.extraHeader", header))
        env["GIT_CONFIG_COUNT"] = str(len(config))
        for index, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        if where.protocol == "ssh":
            command = "ssh -o BatchMode=yes"
            if self.config.ssh_private_key_file_path is not None:
                command += f" -o IdentitiesOnly=yes -i '{self.config.ssh_private_key_file_path}'"
            env["GIT_SSH_COMMAND"] = command
        return env

    def _auth_header(self) -> str | None:
        if self.config.token:
            return f"Authorization: Bearer {self.config.token}"
        if self.config.username or self.config.password:
            raw = f"{self.config.username or ''}:{self.config.password or ''}".encode()
            return f"Authorization: Basic {base64.b64encode(raw).decode('ascii')}"
        return None


def _tail(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return " / ".join(lines[-3:]) or "no error output"
