"""Errors of artifact downloads: what could not be fetched, from which account, and why."""

from __future__ import annotations

from gennaker.errors import GennakerError


class ArtifactError(GennakerError):
    """An artifact cannot be downloaded (bad artifact, no account for it, the source failed)."""

    status = 400


class ArtifactAccountNotFound(ArtifactError):
    """No artifact account of that name handles the artifact's type (Clouddriver answers 404)."""

    status = 404


class ArtifactFetchFailed(ArtifactError):
    """The account exists and was asked, but the download failed (network, git, size)."""

    status = 502
