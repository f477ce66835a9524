"""Images of the local provider (Rosco's job here): immutable, content-addressed file trees.

``bake`` takes a package, a directory, a ``.tar.gz`` or ``{"git": <path or file URL>, "ref":
...}``, copies its files into a staging directory, digests them (paths, executable bits and bytes,
in sorted order) and keeps them under ``images/sha256-<digest>/``, read-only. The same content
bakes to the same image without a second copy. Image names follow Rosco:
``<baseName or package>-<version>-<yyyyMMddHHmmss UTC>``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gennaker.clock import Clock
from gennaker.db import Database
from gennaker.providers.protocol import OperationError
from gennaker.store.json import dumps, loads
from gennaker.store.schema import local_images as images_t
from gennaker.store.schema import local_server_groups as groups_t

_SKIPPED = {".git"}


@dataclass(frozen=True)
class Image:
    """One baked image."""

    id: str
    name: str
    package: str
    version: str
    tags: Mapping[str, str]
    path: Path
    size_bytes: int
    created_at: int

    def to_json(self, region: str, account: str) -> dict[str, Any]:
        """The image as ``/images/find`` answers (the AWS shape Orca understands: ``amis``)."""
        return {
            "imageName": self.name,
            "imageId": self.id,
            "cloudProvider": "local",
            "account": account,
            "accounts": [account],
            "region": region,
            "amis": {region: [self.id]},
            "tags": dict(self.tags),
            "tagsByImageId": {self.id: dict(self.tags)},
            "attributes": {
                "creationDate": datetime.fromtimestamp(self.created_at / 1000, UTC).isoformat(),
                "package": self.package,
                "version": self.version,
                "sizeBytes": self.size_bytes,
            },
        }


def _row(row: Any) -> Image:
    return Image(
        id=row.id,
        name=row.name,
        package=row.package,
        version=row.version,
        tags=loads(row.tags),
        path=Path(row.path),
        size_bytes=row.size_bytes,
        created_at=row.created_at,
    )


def digest_tree(root: Path) -> tuple[str, int]:
    """``sha256:<hex>`` of a tree's paths, executable bits and contents; and its size in bytes."""
    digest = hashlib.sha256()
    size = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED)
        rel_dir = Path(dirpath).relative_to(root)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = (rel_dir / name).as_posix()
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                digest.update(f"L {rel} {os.readlink(path)}\n".encode())
                continue
            executable = bool(info.st_mode & stat.S_IXUSR)
            file_hash = hashlib.sha256()
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    file_hash.update(chunk)
            size += info.st_size
            digest.update(f"F {rel} {int(executable)} {file_hash.hexdigest()}\n".encode())
    return "sha256:" + digest.hexdigest(), size


def _stage_directory(source: Path, target: Path) -> None:
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns(*_SKIPPED))


def _stage_tarball(source: Path, target: Path) -> None:
    target.mkdir()
    try:
        with tarfile.open(source, "r:*") as archive:
            archive.extractall(target, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise OperationError(f"package {str(source)!r} is not a readable .tar.gz: {exc}") from None


def _stage_git(repository: str, ref: str, target: Path) -> str:
    """Export ``ref`` of a repository on this machine; returns the commit's short id."""
    where = repository.removeprefix("file://")
    if not Path(where).exists():
        raise OperationError(f"package.git {repository!r}: no repository at that path on this machine")
    try:
        commit = subprocess.run(
            ["git", "-C", where, "rev-parse", "--short=12", f"{ref}^{{commit}}"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        target.mkdir()
        archive = subprocess.run(
            ["git", "-C", where, "archive", "--format=tar", commit],
            capture_output=True,
            check=True,
            timeout=300,
        ).stdout
    except FileNotFoundError:
        raise OperationError("baking from git needs git installed (apt-get install git)") from None
    except subprocess.CalledProcessError as exc:
        message = (
            (exc.stderr or b"").decode(errors="replace").strip()
            if isinstance(exc.stderr, bytes)
            else exc.stderr
        )
        raise OperationError(f"package.git {repository!r} ref {ref!r}: {message or exc}") from None
    with tempfile.TemporaryFile() as handle:
        handle.write(archive)
        handle.seek(0)
        with tarfile.open(fileobj=handle, mode="r:") as tar:
            tar.extractall(target, filter="data")
    return commit


def _read_only(root: Path) -> None:
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & ~0o222)


def package_label(package: Any) -> str:
    """A short name for a package: the directory's or archive's name, or the repository's."""
    if isinstance(package, Mapping):
        text = str(package.get("git") or "package").rstrip("/")
        return Path(text.removeprefix("file://")).name.removesuffix(".git") or "package"
    name = Path(str(package).rstrip("/")).name
    for suffix in (".tar.gz", ".tgz"):
        name = name.removesuffix(suffix)
    return name or "package"


class ImageStore:
    """Bakes, finds and deletes the images of one local account."""

    def __init__(self, db: Database, clock: Clock, directory: Path) -> None:
        self.db = db
        self.clock = clock
        self.directory = directory

    def bake(
        self,
        package: Any,
        *,
        base_name: str | None,
        version: str | None,
        tags: Mapping[str, Any],
        suffix: str | None,
    ) -> tuple[Image, bool]:
        """The image of ``package`` (baking it unless the same content exists); and whether it
        was baked before (Rosco's ``previouslyBaked``). OperationError for a bad package."""
        self.directory.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".bake-", dir=self.directory))
        tree = staging / "tree"
        detected_version: str | None = None
        try:
            if isinstance(package, Mapping):
                repository, ref = package.get("git"), package.get("ref") or "HEAD"
                if not isinstance(repository, str) or not repository:
                    raise OperationError(
                        'package.git must be the path or file:// URL of a repository, e.g. {"git": "/src/app", "ref": "main"}'
                    )
                detected_version = _stage_git(repository, str(ref), tree)
                label = str(package.get("git"))
            elif isinstance(package, str) and package:
                source = Path(package)
                if not source.is_absolute():
                    raise OperationError(
                        f"package {package!r} must be an absolute path (a directory or a .tar.gz)"
                    )
                if source.is_dir():
                    _stage_directory(source, tree)
                elif source.is_file() and package.endswith((".tar.gz", ".tgz")):
                    _stage_tarball(source, tree)
                else:
                    raise OperationError(
                        f"package {package!r} is neither a directory nor a .tar.gz file on this machine"
                    )
                label = package
            else:
                raise OperationError(
                    'package is required: a directory, a .tar.gz, or {"git": <repository>, "ref": <ref>}'
                )
            image_id, size = digest_tree(tree)
            existing = self.get(image_id)
            if existing is not None:
                return existing, True
            final = self.directory / image_id.replace(":", "-")
            if not final.exists():
                _read_only(tree)
                os.replace(tree, final)
            now = self.clock.now_ms()
            stamp = suffix or datetime.fromtimestamp(now / 1000, UTC).strftime("%Y%m%d%H%M%S")
            version_text = str(version or detected_version or image_id.split(":")[1][:12])
            name = f"{base_name or package_label(package)}-{version_text}-{stamp}"
            all_tags = {str(k): str(v) for k, v in tags.items()}
            all_tags.setdefault("package", package_label(package))
            all_tags.setdefault("version", version_text)
            image = Image(image_id, name, label, version_text, all_tags, final, size, now)
            try:
                with self.db.transaction() as conn:
                    conn.execute(
                        images_t.insert().values(
                            id=image.id,
                            name=image.name,
                            package=image.package,
                            version=image.version,
                            tags=dumps(all_tags),
                            path=str(final),
                            size_bytes=size,
                            created_at=now,
                        )
                    )
            except sa.exc.IntegrityError:  # baked at the same moment elsewhere: the same image
                found = self.get(image_id)
                assert found is not None
                return found, True
            return image, False
        finally:
            if staging.exists():
                for dirpath, dirnames, _ in os.walk(staging):
                    for d in dirnames:
                        (Path(dirpath) / d).chmod(0o755)
                shutil.rmtree(staging, ignore_errors=True)

    def get(self, image_id: str) -> Image | None:
        """The image with this id (``sha256:...``), or None."""
        with self.db.read() as conn:
            row = conn.execute(sa.select(images_t).where(images_t.c.id == image_id)).first()
        return _row(row) if row is not None else None

    def all(self) -> list[Image]:
        """Every image, newest first."""
        with self.db.read() as conn:
            rows = conn.execute(sa.select(images_t).order_by(images_t.c.created_at.desc())).all()
        return [_row(r) for r in rows]

    def resolve(self, reference: str) -> Image | None:
        """An image by id or by name."""
        return self.get(reference) or next((i for i in self.all() if i.name == reference), None)

    def find(
        self, *, pattern: str | None = None, package: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> list[Image]:
        """Images whose name matches the glob ``pattern`` (``*`` when absent), whose package label
        is ``package``, and that carry every tag in ``tags``; newest first."""
        found = []
        for image in self.all():
            if pattern and not fnmatch.fnmatchcase(
                image.name, pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
            ):
                continue
            if package and image.tags.get("package") != package and not image.name.startswith(f"{package}-"):
                continue
            if tags and any(image.tags.get(str(k)) != str(v) for k, v in tags.items()):
                continue
            found.append(image)
        return found

    def delete(self, image_id: str) -> None:
        """Delete an image no server group uses; OperationError when one does."""
        with self.db.transaction() as conn:
            users = (
                conn.execute(
                    sa.select(groups_t.c.name)
                    .where(groups_t.c.image_id == image_id)
                    .order_by(groups_t.c.name)
                )
                .scalars()
                .all()
            )
            if users:
                raise OperationError(
                    f"image {image_id} is used by server group(s) {', '.join(users)}; destroy them first"
                )
            row = conn.execute(sa.select(images_t.c.path).where(images_t.c.id == image_id)).first()
            if row is None:
                raise OperationError(f"there is no image {image_id}")
            conn.execute(images_t.delete().where(images_t.c.id == image_id))
        path = Path(row.path)
        for dirpath, dirnames, _ in os.walk(path):
            for d in dirnames:
                (Path(dirpath) / d).chmod(0o755)
        shutil.rmtree(path, ignore_errors=True)
