"""Reading a repository through the git CLI: a bare mirror per repository under the data
directory, fetched on each sync; files are read from the fetched commit, never from a work tree.

git runs with a scrubbed environment (no prompts, no user or system config beyond what is set
here) and a time limit. A token named by ``token_env`` reaches git as an HTTP header through
``GIT_CONFIG_*`` variables, so it never appears in a URL, on a command line or in an error.
"""

from __future__ import annotations

import base64
import fcntl
import os
import re
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gennaker.gitops.settings import GitopsRepository

TIMEOUT_SECONDS = 120.0
#: Files larger than this are refused (a pipeline file is a few KiB).
MAX_FILE_BYTES = 1_000_000
SUFFIXES = (".json", ".yaml", ".yml")
#: Credentials written into a URL (``https://user:token@host``) never reach a message.
_USERINFO = re.compile(r"://[^/@]+@")


class GitError(Exception):
    """git could not fetch or read the repository; the message says what git said."""


@dataclass(frozen=True)
class Commit:
    """The commit a sync reads."""

    sha: str
    author: str
    message: str


class GitMirror:
    """A bare mirror of one repository's branch."""

    def __init__(self, repository: GitopsRepository, cache_dir: Path, environ: Mapping[str, str]) -> None:
        self.repository = repository
        self.dir = cache_dir / f"{repository.name}.git"
        self._environ = environ

    def _env(self) -> dict[str, str]:
        env = {k: v for k in ("PATH", "HOME", "LANG") if (v := self._environ.get(k)) is not None}
        env.update(GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
        if self.repository.token_env:
            token = self._environ.get(self.repository.token_env)
            if not token:
                raise GitError(
                    f"repository {self.repository.name}: environment variable {self.repository.token_env} "
                    "(token_env) is not set"
                )
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            env.update(
                GIT_CONFIG_COUNT="1",
                GIT_CONFIG_KEY_0="http.extraHeader",
                GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}",
            )
        return env

    def _git(self, *args: str, input: bytes | None = None) -> bytes:
        try:
            done = subprocess.run(
                ["git", *args],
                input=input,
                capture_output=True,
                env=self._env(),
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed (Debian: apt-get install git)") from None
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} did not finish within {TIMEOUT_SECONDS:.0f}s") from None
        if done.returncode != 0:
            said = [
                line.strip() for line in done.stderr.decode(errors="replace").splitlines() if line.strip()
            ]
            fatal = [line for line in said if line.startswith(("fatal:", "error:"))]
            reason = (fatal or said or [f"exit status {done.returncode}"])[0]
            command = next((a for a in args if not a.startswith("-") and a != str(self.dir)), "git")
            where = _USERINFO.sub("://***@", self.repository.url)
            raise GitError(f"repository {self.repository.name} ({where}): git {command} failed: {reason}")
        return done.stdout

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One fetch or read of this mirror at a time among this machine's processes."""
        self.dir.parent.mkdir(parents=True, exist_ok=True)
        with open(self.dir.parent / f"{self.repository.name}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def fetch(self) -> Commit:
        """Fetch the branch and describe its newest commit."""
        if not (self.dir / "HEAD").exists():
            self._git("init", "--quiet", "--bare", str(self.dir))
        branch = self.repository.branch
        self._git(
            "-C", str(self.dir), "fetch", "--quiet", "--prune", "--no-tags", "--depth", "1",
            self.repository.url, f"+refs/heads/{branch}:refs/heads/{branch}",
        )  # fmt: skip
        sha = self._git("-C", str(self.dir), "rev-parse", f"refs/heads/{branch}^{{commit}}").decode().strip()
        shown = self._git("-C", str(self.dir), "show", "-s", "--format=%an <%ae>%x00%s", sha).decode()
        author, _, message = shown.strip().partition("\x00")
        return Commit(sha, author, message)

    def files(self, sha: str) -> dict[str, bytes]:
        """The pipeline files (JSON, YAML) under the repository's path at ``sha``, by path."""
        root = self.repository.path.strip("/")
        listing = self._git(
            "-C", str(self.dir), "ls-tree", "-r", "-z", "--long", sha, *([root] if root else [])
        )
        wanted: list[tuple[str, str]] = []
        for entry in listing.split(b"\0"):
            if not entry:
                continue
            meta, _, name = entry.decode(errors="replace").partition("\t")
            mode, kind, obj, size = meta.split()
            if kind != "blob" or not name.endswith(SUFFIXES) or mode == "120000":
                continue
            if int(size) > MAX_FILE_BYTES:
                raise GitError(f"{name} is larger than {MAX_FILE_BYTES} bytes")
            wanted.append((name, obj))
        if not wanted:
            return {}
        batch = self._git(
            "-C",
            str(self.dir),
            "cat-file",
            "--batch",
            input="".join(f"{obj}\n" for _, obj in wanted).encode(),
        )
        found: dict[str, bytes] = {}
        offset = 0
        for name, _ in wanted:
            header_end = batch.index(b"\n", offset)
            length = int(batch[offset:header_end].split()[2])
            start = header_end + 1
            found[name] = batch[start : start + length]
            offset = start + length + 1
        return found
