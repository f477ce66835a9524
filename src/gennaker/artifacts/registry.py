"""The artifact-account registry: which account downloads an artifact, and the account listing
(Clouddriver's ArtifactCredentialsRepository and ArtifactDownloader)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gennaker.artifacts.account import ArtifactAccount
from gennaker.artifacts.embedded import EmbeddedAccount
from gennaker.artifacts.errors import ArtifactAccountNotFound, ArtifactError
from gennaker.artifacts.gitrepo import GitRepoAccount
from gennaker.artifacts.http import HttpAccount
from gennaker.artifacts.settings import (
    NO_AUTH_HTTP_ACCOUNT,
    ArtifactSettings,
    HttpAccountSettings,
    artifact_settings,
)
from gennaker.outbound import OutboundPolicy


@dataclass(frozen=True)
class ArtifactAccounts:
    """Every configured artifact account, in listing order."""

    accounts: tuple[ArtifactAccount, ...]

    @classmethod
    def from_settings(cls, settings: Any) -> ArtifactAccounts:
        """Build from a ``Settings`` (its ``[artifacts]`` and ``[outbound]`` sections)."""
        outbound = getattr(settings, "outbound", None)
        policy = OutboundPolicy(tuple(getattr(outbound, "allow", ())), tuple(getattr(outbound, "deny", ())))
        return cls.build(artifact_settings(settings), policy)

    @classmethod
    def build(cls, config: ArtifactSettings, policy: OutboundPolicy) -> ArtifactAccounts:
        """Build from validated settings and an outbound policy."""
        accounts: list[ArtifactAccount] = [EmbeddedAccount()]
        if config.http.enabled:
            http = list(config.http.accounts)
            if not any(a.uses_auth for a in http):  # Clouddriver's rule for its anonymous account
                http.append(HttpAccountSettings(name=NO_AUTH_HTTP_ACCOUNT))
            accounts.extend(
                HttpAccount(a, policy, config.http.timeout_seconds, config.http.max_bytes) for a in http
            )
        accounts.extend(
            GitRepoAccount(
                a, policy, config.gitrepo.git, config.gitrepo.timeout_seconds, config.gitrepo.max_bytes
            )
            for a in config.gitrepo.accounts
        )
        return cls(tuple(accounts))

    def __iter__(self) -> Iterator[ArtifactAccount]:
        return iter(self.accounts)

    def credentials(self) -> list[dict[str, Any]]:
        """``GET /artifacts/credentials``: ``[{name, types, type}]``."""
        return [{"name": a.name, "types": list(a.types), "type": a.kind} for a in self.accounts]

    def account_for(self, artifact: Mapping[str, Any]) -> ArtifactAccount:
        """The account named by ``artifactAccount`` that handles the artifact's type.

        Without an ``artifactAccount`` (Clouddriver refuses those), the only account handling the
        type is used, so embedded artifacts and single-account setups need not name one.
        """
        kind = artifact.get("type")
        if not isinstance(kind, str) or not kind:
            raise ArtifactError(f"artifact {artifact.get('name')!r} has no type")
        name = artifact.get("artifactAccount")
        if isinstance(name, str) and name:
            for account in self.accounts:
                if account.name == name and account.handles(kind):
                    return account
            raise ArtifactAccountNotFound(
                f"Credentials '{name}' supporting artifact type '{kind}' cannot be found"
            )
        handling = [a for a in self.accounts if a.handles(kind)]
        if len(handling) == 1:
            return handling[0]
        if not handling:
            raise ArtifactAccountNotFound(f"no artifact account supports artifact type '{kind}'")
        names = ", ".join(repr(a.name) for a in handling)
        raise ArtifactError(
            f"An artifact account must be supplied to download this {kind} artifact (artifactAccount: one of {names})"
        )

    def fetch(self, artifact: Mapping[str, Any]) -> bytes:
        """The artifact's content as bytes (``PUT /artifacts/fetch``)."""
        if not isinstance(artifact, Mapping):
            raise ArtifactError("an artifact must be a JSON object")
        return self.account_for(artifact).download(artifact)
