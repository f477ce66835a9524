"""The ``[gitops]`` section: the repositories whose pipelines and templates Gennaker syncs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gennaker.config import ConfigError, Settings


class GitopsRepository(BaseModel):
    """One ``[[gitops.repositories]]`` entry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: How the API, the CLI and the revision history name it.
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$")
    #: Anything ``git fetch`` takes: a path or file:// URL on this machine, https://, ssh://.
    url: str = Field(min_length=1)
    branch: str = "main"
    #: The folder of the repository that holds the files ("" for the whole repository).
    path: str = ""
    #: Applications whose pipelines it may manage; empty: any existing application.
    applications: tuple[str, ...] = ()
    #: Sync at least this often (a push webhook syncs at once).
    interval_seconds: float = Field(default=60.0, ge=1.0)
    #: Name of an environment variable holding an HTTPS token (sent as an HTTP header, never in
    #: the URL or on a command line).
    token_env: str | None = None
    #: ``owner/name`` (GitHub, Bitbucket) or ``group/project`` (GitLab) as push webhooks name it;
    #: a push to ``branch`` of it through ``/webhooks/git/{github|gitlab|bitbucket}`` syncs at once.
    webhook_repository: str | None = None
    #: Name of an environment variable holding the webhook secret; pushes must be signed with it.
    webhook_secret_env: str | None = None


class GitopsSettings(BaseModel):
    """The ``[gitops]`` section."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    repositories: tuple[GitopsRepository, ...] = ()
    #: Let the API and UI change pipelines that a repository manages (they are read-only otherwise;
    #: the next sync puts the repository's version back).
    allow_api_changes: bool = False

    def repository(self, name: str) -> GitopsRepository | None:
        """The repository of that name, if configured."""
        return next((r for r in self.repositories if r.name == name), None)


def gitops_settings(settings: Settings) -> GitopsSettings:
    """Validate ``settings.gitops``; ConfigError names the bad key."""
    try:
        parsed = GitopsSettings.model_validate(dict(settings.gitops))
    except ValidationError as exc:
        problems = [f"  gitops.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise ConfigError("invalid [gitops] configuration:\n" + "\n".join(problems)) from None
    names = [r.name for r in parsed.repositories]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"invalid [gitops] configuration: repository names repeat: {', '.join(duplicates)}")
    return parsed
