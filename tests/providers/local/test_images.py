"""Baking local images from a directory, a .tar.gz and a git repository: content-addressed,
immutable, the same content is the same image, and an image in use cannot be deleted."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gennaker.clock import FrozenClock
from gennaker.db import Database
from gennaker.providers.local.images import ImageStore
from gennaker.providers.protocol import OperationError
from gennaker.store import migrate


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> Iterator[ImageStore]:
    db = Database(database_url)
    migrate.upgrade(db)
    yield ImageStore(db, FrozenClock(), tmp_path / "images")
    db.dispose()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    (root / "bin").mkdir(parents=True)
    (root / "app.py").write_text("print('hi')\n")
    (root / "bin" / "run").write_text("#!/bin/sh\nexec python3 app.py\n")
    (root / "bin" / "run").chmod(0o755)
    return root


def test_a_directory_bakes_to_a_read_only_content_addressed_image(store: ImageStore, source: Path) -> None:
    image, previously = store.bake(
        str(source), base_name=None, version="1.2", tags={"team": "web"}, suffix="20261203120000"
    )
    assert not previously
    assert image.id.startswith("sha256:") and image.name == "app-1.2-20261203120000"
    assert image.tags == {"team": "web", "package": "app", "version": "1.2"}
    assert (image.path / "app.py").read_text() == "print('hi')\n"
    assert os.access(image.path / "bin" / "run", os.X_OK)
    assert not os.access(image.path / "app.py", os.W_OK) or os.geteuid() == 0
    assert (image.path / "app.py").stat().st_mode & 0o222 == 0
    again, previously = store.bake(str(source), base_name="other", version=None, tags={}, suffix=None)
    assert previously and again == image
    (source / "app.py").write_text("print('changed')\n")
    changed, _ = store.bake(str(source), base_name=None, version=None, tags={}, suffix=None)
    assert changed.id != image.id
    assert [i.id for i in store.find(pattern="app-1.2-*")] == [image.id]
    assert [i.id for i in store.find(tags={"team": "web"})] == [image.id]


def test_a_tarball_and_a_git_ref_bake_the_same_content_to_the_same_image(
    store: ImageStore, source: Path, tmp_path: Path
) -> None:
    from_dir, _ = store.bake(str(source), base_name=None, version=None, tags={}, suffix=None)
    archive = tmp_path / "app.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(source.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(source)), recursive=False)
    from_tar, previously = store.bake(str(archive), base_name=None, version=None, tags={}, suffix=None)
    assert previously and from_tar.id == from_dir.id
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    shutil.copytree(source, repo)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "one"], ["tag", "v1"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env)
    from_git, previously = store.bake(
        {"git": f"file://{repo}", "ref": "v1"}, base_name=None, version=None, tags={}, suffix=None
    )
    assert previously and from_git.id == from_dir.id
    with pytest.raises(OperationError, match="ref 'nope'"):
        store.bake({"git": str(repo), "ref": "nope"}, base_name=None, version=None, tags={}, suffix=None)


@pytest.mark.parametrize(
    ("package", "message"),
    [
        ("relative/dir", "must be an absolute path"),
        ("/does/not/exist", "neither a directory nor a .tar.gz"),
        (None, "package is required"),
        ({"ref": "main"}, "package.git must be"),
    ],
)
def test_bad_packages_say_what_to_give(store: ImageStore, package: object, message: str) -> None:
    with pytest.raises(OperationError, match=message):
        store.bake(package, base_name=None, version=None, tags={}, suffix=None)


def test_deleting_an_image_is_refused_while_a_server_group_uses_it(store: ImageStore, source: Path) -> None:
    import sqlalchemy as sa

    from gennaker.store.schema import local_server_groups

    image, _ = store.bake(str(source), base_name=None, version=None, tags={}, suffix=None)
    with store.db.transaction() as conn:
        conn.execute(
            sa.insert(local_server_groups).values(
                account="local",
                name="shop-v000",
                region="local",
                application="shop",
                cluster="shop",
                sequence=0,
                image_id=image.id,
                spec="{}",
                capacity="{}",
                disabled=False,
                status="active",
                operation_id="x",
                created_at=0,
                updated_at=0,
            )
        )
    with pytest.raises(OperationError, match="used by server group"):
        store.delete(image.id)
    with store.db.transaction() as conn:
        conn.execute(sa.delete(local_server_groups))
    store.delete(image.id)
    assert store.get(image.id) is None and not image.path.exists()


def test_bad_account_settings_name_the_setting() -> None:
    from gennaker.config import ConfigError
    from gennaker.providers.local.settings import accounts_from

    assert [a.name for a in accounts_from({})] == ["local"]
    with pytest.raises(
        ConfigError, match=r"providers.local.accounts\[0\]: account: port_range \[10, 5\] must be"
    ):
        accounts_from({"local": {"accounts": [{"name": "a", "port_range": [10, 5]}]}})
    with pytest.raises(ConfigError, match="unique"):
        accounts_from({"local": {"accounts": [{"name": "a"}, {"name": "a"}]}})
