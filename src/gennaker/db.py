"""The one database: SQLite (embedded, WAL) or PostgreSQL (scaled out), chosen by URL scheme.

``transaction()`` is the unit every write goes through. On SQLite it takes the write lock up front
(``BEGIN IMMEDIATE``) and, inside one process, serialises writers on a Python lock so threads never
spin in SQLite's busy handler. On PostgreSQL it is an ordinary READ COMMITTED transaction; handlers
that need per-execution serialisation lock the execution row (``FOR UPDATE``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

Dialect = Literal["sqlite", "postgresql"]

_log = logging.getLogger(__name__)
# Key in Connection.info for the callbacks of the transaction in progress (see after_commit).
_AFTER_COMMIT = "gennaker.after_commit"


class DatabaseUnavailable(Exception):
    """The database could not be reached; the caller may retry."""


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is unreachable (refused, dropped, locked), not a bug."""
    if isinstance(exc, (DatabaseUnavailable, sa.exc.OperationalError, sa.exc.InterfaceError)):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


def outage_summary(exc: BaseException) -> str:
    """One line saying why the database is unreachable (no traceback, no SQL)."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__


def normalize_url(url: str) -> str:
    """Map Gennaker's URL schemes onto SQLAlchemy's driver URLs."""
    if url.startswith("memory://"):
        return "sqlite://"
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Database:
    """A connection pool plus the transaction discipline the engine relies on."""

    def __init__(
        self, url: str, *, pool_size: int = 10, echo: bool = False, sqlite_synchronous: str = "FULL"
    ) -> None:
        self.url = url
        sa_url = normalize_url(url)
        self.dialect: Dialect = "postgresql" if sa_url.startswith("postgresql") else "sqlite"
        self._write_lock = threading.RLock()
        # Per thread: how many write transactions of this database it has open (see in_transaction).
        self._open = threading.local()
        self.engine: Engine
        if sqlite_synchronous not in ("FULL", "NORMAL", "EXTRA", "OFF"):
            raise ValueError(f"unknown SQLite synchronous mode {sqlite_synchronous!r}")
        self.sqlite_synchronous = sqlite_synchronous
        if self.dialect == "sqlite":
            self.engine = self._sqlite_engine(sa_url, echo)
        else:
            self.engine = sa.create_engine(
                sa_url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                echo=echo,
                connect_args={"connect_timeout": 10},
            )

    @property
    def is_sqlite(self) -> bool:
        """True for SQLite files and memory:// databases."""
        return self.dialect == "sqlite"

    def _sqlite_engine(self, sa_url: str, echo: bool) -> Engine:
        memory = sa_url in ("sqlite://", "sqlite:///:memory:")
        if not memory:
            path = sa.engine.make_url(sa_url).database
            if path:
                Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            sa_url,
            echo=echo,
            poolclass=StaticPool if memory else None,
            connect_args={"check_same_thread": False, "timeout": 30},
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own handling defers it).
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            # FULL by default: a commit the engine acknowledged survives a power loss.
            cursor.execute(f"PRAGMA synchronous={self.sqlite_synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = "IMMEDIATE" if conn.get_execution_options().get("gennaker_write") else "DEFERRED"
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: commit on success, roll back on any exception."""
        self._open.depth = getattr(self._open, "depth", 0) + 1
        try:
            if self.is_sqlite:
                with self._write_lock, self._connect(write=True) as conn, self._begin(conn):
                    yield conn
            else:
                with self._connect(write=True) as conn, self._begin(conn):
                    yield conn
        finally:
            self._open.depth -= 1

    def in_transaction(self) -> bool:
        """Whether the calling thread has a write transaction of this database open (on SQLite it
        then holds the single write lock: nothing slow may happen in it)."""
        return bool(getattr(self._open, "depth", 0))

    # -- after-commit callbacks ------------------------------------------------------------------
    # SQLAlchemy's "commit" event fires *before* the COMMIT is sent, so it cannot tell that a
    # transaction has committed; transaction() knows, so it runs the callbacks itself.

    def after_commit(self, conn: Connection, callback: Callable[[], None]) -> bool:
        """Run ``callback`` once ``conn``'s transaction() has committed; it is dropped on rollback.

        Registering the same callback twice in one transaction runs it once; the return value says
        whether this call registered it (True) or it was already there (False). Callbacks run in
        the committing thread before transaction() returns (on SQLite still under the write lock,
        so keep them short); one that raises is logged and does not stop the others."""
        callbacks = conn.info.get(_AFTER_COMMIT)
        if callbacks is None:
            raise RuntimeError("after_commit() needs a connection from Database.transaction()")
        if callback in callbacks:
            return False
        callbacks.append(callback)
        return True

    @contextmanager
    def _begin(self, conn: Connection) -> Iterator[None]:
        # conn.info belongs to the pooled DBAPI connection and outlives this checkout: always clear.
        callbacks: list[Callable[[], None]] = []
        conn.info[_AFTER_COMMIT] = callbacks
        try:
            with conn.begin():
                yield
        finally:
            conn.info.pop(_AFTER_COMMIT, None)
        # Reached only when the COMMIT succeeded.
        for callback in callbacks:
            try:
                callback()
            except Exception:
                _log.exception("after-commit callback %r failed", callback)

    # -- end of after-commit callbacks ----------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot (no write lock on SQLite)."""
        if self.is_sqlite and self.engine.pool.__class__ is StaticPool:
            # memory:// shares one connection between threads; reads must take turns too.
            with self._write_lock, self._connect(write=False) as conn, conn.begin():
                yield conn
        else:
            with self._connect(write=False) as conn, conn.begin():
                yield conn

    @contextmanager
    def _connect(self, *, write: bool) -> Iterator[Connection]:
        try:
            conn = self.engine.connect()
        except sa.exc.OperationalError as exc:
            raise DatabaseUnavailable(f"cannot connect to the database: {exc.orig}") from exc
        try:
            if write:
                conn = conn.execution_options(gennaker_write=True)
            yield conn
        finally:
            conn.close()

    def ping(self) -> None:
        """Raise DatabaseUnavailable unless a trivial query succeeds."""
        try:
            with self.read() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.OperationalError as exc:
            raise DatabaseUnavailable(str(exc.orig)) from exc

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
