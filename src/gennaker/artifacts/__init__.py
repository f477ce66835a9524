"""Artifacts: downloading them from artifact accounts (Clouddriver's artifact credentials).

``ArtifactAccounts.from_settings(settings).fetch(artifact)`` gives an artifact's bytes for
``embedded/base64``, ``http/file`` and ``git/repo`` artifacts; ``manifest_text`` turns a download
into manifest text.
"""

from gennaker.artifacts.content import extract_tarball, is_tarball, manifest_text
from gennaker.artifacts.errors import ArtifactAccountNotFound, ArtifactError, ArtifactFetchFailed
from gennaker.artifacts.registry import ArtifactAccounts

__all__ = [
    "ArtifactAccountNotFound",
    "ArtifactAccounts",
    "ArtifactError",
    "ArtifactFetchFailed",
    "extract_tarball",
    "is_tarball",
    "manifest_text",
]
