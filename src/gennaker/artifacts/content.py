"""Reading what a download gives: text, or the files of a (gzipped) tarball such as a git/repo
archive or an embedded chart."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from gennaker.artifacts.errors import ArtifactError

_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def is_tarball(data: bytes) -> bool:
    """Whether ``data`` is a tar archive, gzipped or not."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*"):
            return True
    except (tarfile.TarError, EOFError, OSError):
        return False


def extract_tarball(data: bytes, destination: Path, *, what: str = "artifact") -> list[Path]:
    """Unpack ``data`` under ``destination``; members escaping it, links and devices are refused."""
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArtifactError(f"{what} is not a tar archive: {exc}") from None
    written: list[Path] = []
    with archive:
        for member in archive.getmembers():
            parts = PurePosixPath(member.name).parts
            if member.name.startswith("/") or ".." in parts:
                raise ArtifactError(f"{what}: archive member {member.name!r} points outside the archive")
            if member.issym() or member.islnk() or not (member.isfile() or member.isdir()):
                continue  # links and special files are not needed to render manifests
            target = destination.joinpath(*parts) if parts else destination
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            if source is None:
                continue
            target.write_bytes(source.read())
            written.append(target)
    return written


def manifest_text(data: bytes, artifact: Mapping[str, Any]) -> str:
    """The artifact's content as manifest text: the bytes decoded, or, for a tarball (a git/repo
    download), its YAML/JSON files in path order joined as one multi-document stream."""
    if not is_tarball(data):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ArtifactError(f"artifact {artifact.get('name')!r} is not UTF-8 text") from None
    documents: list[str] = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        members = sorted(
            (m for m in archive.getmembers() if m.isfile() and m.name.lower().endswith(_MANIFEST_SUFFIXES)),
            key=lambda m: m.name,
        )
        for member in members:
            source = archive.extractfile(member)
            if source is None:
                continue
            try:
                documents.append(source.read().decode("utf-8").strip("\n"))
            except UnicodeDecodeError:
                raise ArtifactError(
                    f"artifact {artifact.get('name')!r}: {member.name} is not UTF-8 text"
                ) from None
    if not documents:
        raise ArtifactError(f"artifact {artifact.get('name')!r} holds no .yaml, .yml or .json file")
    return "\n---\n".join(documents) + "\n"
