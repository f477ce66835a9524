"""The ``[artifacts]`` settings: artifact accounts, as Clouddriver's ``artifacts.*`` configuration.

    [artifacts.http]
    enabled = true                      # default; adds "no-auth-http-account" unless an account uses auth
    [[artifacts.http.accounts]]
    name = "intranet"
    username = "deploy"
    password = "..."

    [[artifacts.gitrepo.accounts]]
    name = "gitrepo"
    local_roots = ["/srv/git"]          # repositories on this machine that may be read

The ``embedded-artifact`` account (``embedded/base64``, ``remote/base64``) always exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gennaker.config import ConfigError

EMBEDDED_ACCOUNT = "embedded-artifact"
NO_AUTH_HTTP_ACCOUNT = "no-auth-http-account"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HttpAccountSettings(_Model):
    """One ``http/file`` account (Clouddriver's HttpArtifactAccount)."""

    name: str = Field(min_length=1)
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    #: A file holding ``username:password`` (read at each download, so it may be rotated).
    username_password_file: Path | None = None

    @property
    def uses_auth(self) -> bool:
        """Whether downloads send an Authorization header."""
        return bool(self.username or self.password or self.username_password_file)


class HttpSettings(_Model):
    """The ``http/file`` artifact kind."""

    enabled: bool = True
    accounts: tuple[HttpAccountSettings, ...] = ()
    timeout_seconds: float = Field(default=60.0, gt=0)
    max_bytes: int = Field(default=50_000_000, ge=1_024)


class GitRepoAccountSettings(_Model):
    """One ``git/repo`` account (Clouddriver's GitRepoArtifactAccount)."""

    name: str = Field(min_length=1)
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    token: str | None = Field(default=None, repr=False)
    ssh_private_key_file_path: Path | None = None
    #: Directories whose repositories (plain paths or ``file://`` URLs) this account may read.
    #: Empty: only remote repositories (https, ssh), as no pipeline may read this machine's disk.
    local_roots: tuple[Path, ...] = ()

    @field_validator("local_roots")
    @classmethod
    def _absolute(cls, value: tuple[Path, ...]) -> tuple[Path, ...]:
        for root in value:
            if not root.is_absolute():
                raise ValueError(f"{str(root)!r} is not an absolute path")
        return value


class GitRepoSettings(_Model):
    """The ``git/repo`` artifact kind."""

    accounts: tuple[GitRepoAccountSettings, ...] = ()
    #: The git executable (a name looked up on PATH, or a path).
    git: str = "git"
    timeout_seconds: float = Field(default=120.0, gt=0)
    max_bytes: int = Field(default=200_000_000, ge=1_024)


class ArtifactSettings(_Model):
    """The whole ``[artifacts]`` section."""

    http: HttpSettings = HttpSettings()
    gitrepo: GitRepoSettings = GitRepoSettings()

    @model_validator(mode="after")
    def _unique_names(self) -> ArtifactSettings:
        seen: set[str] = {EMBEDDED_ACCOUNT}
        names = [a.name for a in self.http.accounts] + [a.name for a in self.gitrepo.accounts]
        for name in names:
            if name in seen:
                raise ValueError(
                    f"artifact account name {name!r} is used twice (names are unique across kinds)"
                )
            seen.add(name)
        return self


def artifact_settings(settings: Any) -> ArtifactSettings:
    """The validated ``[artifacts]`` section of ``settings`` (ConfigError naming the bad key)."""
    raw = getattr(settings, "artifacts", None) or {}
    try:
        return ArtifactSettings.model_validate(dict(raw))
    except ValidationError as exc:
        problems = "; ".join(
            f"artifacts.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}".replace(
                "artifacts.: ", "artifacts: "
            )
            for e in exc.errors()
        )
        raise ConfigError(f"invalid artifact settings: {problems}") from None
