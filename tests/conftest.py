"""Fixtures shared by the whole suite: real databases (SQLite files and PostgreSQL), a frozen clock.

PostgreSQL comes from GENNAKER_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
Each test gets its own schema there, so tests run in parallel without seeing each other. When the
server is unreachable, PostgreSQL tests are skipped on a laptop and fail under CI=true.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gennaker.clock import FrozenClock
from gennaker.db import Database
from gennaker.store import migrate
from tests.kube_cluster import KubeControlPlane, KubeUnavailable, start_control_plane

POSTGRES_URL = os.environ.get("GENNAKER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

_pg_checked: dict[str, str | None] = {}


def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used (None when it can); checked once per process."""
    if "problem" not in _pg_checked:
        try:
            engine = sa.create_engine(
                POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                connect_args={"connect_timeout": 3},
            )
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            engine.dispose()
            _pg_checked["problem"] = None
        except Exception as exc:  # any failure means "not usable here"
            _pg_checked["problem"] = f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}"
    return _pg_checked["problem"]


def require_postgres() -> None:
    """Skip (laptop) or fail (CI) when PostgreSQL is absent."""
    problem = postgres_problem()
    if problem is None:
        return
    if IN_CI:
        pytest.fail(problem + " (CI=true: PostgreSQL tests must run)")
    pytest.skip(problem)


class PostgresSchema:
    """A throw-away schema in the test PostgreSQL database."""

    def __init__(self) -> None:
        self.name = "t_" + uuid.uuid4().hex[:16]
        self._admin = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with self._admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{self.name}"'))
        sep = "&" if "?" in POSTGRES_URL else "?"
        self.url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{self.name}"

    def drop(self) -> None:
        with self._admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        self._admin.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gennaker.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    require_postgres()
    schema = PostgresSchema()
    try:
        yield schema.url
    finally:
        schema.drop()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database URL of each backend in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gennaker.db'}"
        return
    require_postgres()
    schema = PostgresSchema()
    try:
        yield schema.url
    finally:
        schema.drop()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated database of each backend (the contract suites' fixture)."""
    database = Database(database_url)
    migrate.upgrade(database)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeControlPlane]:
    """One real Kubernetes control plane for the whole session (tests/kube_cluster.py).

    Skipped when ../shared/kube or etcd is absent; under CI=true that is a failure.
    """
    try:
        plane = start_control_plane(tmp_path_factory.mktemp("kube"))
    except KubeUnavailable as exc:
        if IN_CI:
            pytest.fail(f"{exc} (CI=true: Kubernetes tests must run)")
        pytest.skip(str(exc))
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture
def kube_namespace(kube_cluster: KubeControlPlane) -> Iterator[str]:
    """A fresh namespace on the shared cluster, deleted after the test."""
    name = kube_cluster.create_namespace()
    try:
        yield name
    finally:
        kube_cluster.delete_namespace(name)
