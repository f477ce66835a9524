"""What every artifact account is: a name, the artifact types it handles, and a download."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class ArtifactAccount(Protocol):
    """One artifact account (Clouddriver's ArtifactCredentials)."""

    @property
    def name(self) -> str:
        """The account's name, as pipelines write it in ``artifactAccount``."""

    @property
    def types(self) -> tuple[str, ...]:
        """The artifact types listed for it (``GET /artifacts/credentials``)."""

    @property
    def kind(self) -> str:
        """Clouddriver's credentials type (``artifacts-http``, ``git/repo``, ...)."""

    def handles(self, artifact_type: str) -> bool:
        """Whether it can download an artifact of this type."""

    def download(self, artifact: Mapping[str, Any]) -> bytes:
        """The artifact's content; ArtifactError (or a subclass) when it cannot be had."""
