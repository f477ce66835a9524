"""``http/file`` accounts: the reference is a URL, fetched under the outbound policy (purpose
``artifact``: everything but cloud metadata unless the operator denies it), with basic auth when
the account has credentials."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gennaker.artifacts.errors import ArtifactError, ArtifactFetchFailed
from gennaker.artifacts.settings import HttpAccountSettings
from gennaker.outbound import FetchFailed, OutboundDenied, OutboundPolicy, fetch_bytes


@dataclass(frozen=True)
class HttpAccount:
    """Downloads ``reference`` with GET."""

    config: HttpAccountSettings
    policy: OutboundPolicy
    timeout_s: float
    max_bytes: int
    types: tuple[str, ...] = ("http/file",)
    kind: str = "artifacts-http"
    name: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.config.name)

    def handles(self, artifact_type: str) -> bool:
        """Only ``http/file``."""
        return artifact_type in self.types

    def download(self, artifact: Mapping[str, Any]) -> bytes:
        """The body of a GET of the reference (an HTTP error status fails the download)."""
        url = artifact.get("reference")
        if not isinstance(url, str) or not url.strip():
            raise ArtifactError(
                f"http/file artifact {artifact.get('name')!r} has no reference (the URL to fetch)"
            )
        try:
            return fetch_bytes(
                url.strip(),
                self.policy,
                "artifact",
                timeout_s=self.timeout_s,
                max_bytes=self.max_bytes,
                headers=self._headers(),
            )
        except OutboundDenied as exc:
            raise ArtifactError(f"artifact account {self.name!r}: {exc.message}") from None
        except FetchFailed as exc:
            raise ArtifactFetchFailed(f"artifact account {self.name!r}: {exc.message}") from None

    def _headers(self) -> dict[str, str]:
        if not self.config.uses_auth:
            return {}
        user, password = self.config.username or "", self.config.password or ""
        if self.config.username_password_file is not None:
            try:
                text = self.config.username_password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ArtifactError(
                    f"artifact account {self.name!r}: cannot read username_password_file: {exc.strerror}"
                ) from None
            user, _, password = text.partition(":")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return {"Authorization": f"Basic {token}"}
