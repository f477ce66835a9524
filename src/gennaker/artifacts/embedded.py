"""The ``embedded-artifact`` account: ``embedded/base64`` and ``remote/base64`` artifacts carry their
content base64-encoded in ``reference``."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gennaker.artifacts.errors import ArtifactError
from gennaker.artifacts.settings import EMBEDDED_ACCOUNT


@dataclass(frozen=True)
class EmbeddedAccount:
    """Decodes the reference; nothing leaves the process."""

    name: str = EMBEDDED_ACCOUNT
    types: tuple[str, ...] = ("embedded/base64", "remote/base64")
    kind: str = "artifacts-embedded"

    def handles(self, artifact_type: str) -> bool:
        """Any ``embedded/*`` or ``remote/*`` type, as Clouddriver's embedded account."""
        return artifact_type.startswith(("embedded/", "remote/"))

    def download(self, artifact: Mapping[str, Any]) -> bytes:
        """The decoded reference."""
        kind = str(artifact.get("type") or "")
        if kind not in self.types:
            raise ArtifactError(f"embedded artifact type {kind!r} is not handled (use embedded/base64)")
        reference = artifact.get("reference")
        if not isinstance(reference, str):
            raise ArtifactError(f"{_describe(artifact)} has no reference to decode (expected base64 text)")
        try:
            return base64.b64decode("".join(reference.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ArtifactError(f"{_describe(artifact)}: reference is not valid base64 ({exc})") from None


def _describe(artifact: Mapping[str, Any]) -> str:
    name = artifact.get("name")
    return f"artifact {name!r}" if name else "artifact"
