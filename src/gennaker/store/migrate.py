"""Schema migrations (Alembic), applied at start and by ``gennaker db upgrade``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from gennaker.db import Database

if TYPE_CHECKING:
    from alembic.config import Config

_SCRIPTS = Path(__file__).with_name("migrations")
# Any constant works; it only has to be the same in every Gennaker process.
_PG_ADVISORY_LOCK = 0x47454E4E


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def head_revision() -> str:
    """The newest migration this code knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    """The migration the database is at (None when it is empty)."""
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)


def _heads_on_disk() -> set[str]:
    """The newest revisions, read from the migration files without loading Alembic (~0.3 s)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (_SCRIPTS / "versions").glob("*.py"):
        for key, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (revisions if key == "revision" else parents).add(value)
    return revisions - parents


def is_current(db: Database) -> bool:
    """Whether the database is already at the newest revision (a cheap check for every start)."""
    heads = _heads_on_disk()
    try:
        with db.engine.connect() as conn:
            stored = {row[0] for row in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}
    except sa.exc.DBAPIError:
        return False  # no alembic_version table: an empty database
    return bool(heads) and stored == heads


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema up to ``revision``; safe to call from many processes at once."""
    if revision == "head" and is_current(db):
        return
    from alembic import command

    config = _config()
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_ADVISORY_LOCK})
            conn.commit()
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            conn.commit()
        finally:
            if db.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_ADVISORY_LOCK})
                conn.commit()
