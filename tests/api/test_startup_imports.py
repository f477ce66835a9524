"""What an SQLite server imports before its first request (issue 11: start-up time and memory).

numpy (the canary judge, the stage graph's layout), psycopg, Jinja2 and the routes built on first
use cost a third of start-up's CPU and 25 MB; they load when first needed. A fresh interpreter
builds the services and the app, as ``gennaker up`` does, and says which of them it loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gennaker.db import Database
from gennaker.store import migrate

DEFERRED = (
    "numpy",
    "psycopg",
    "jinja2",
    "grandalf",
    "alembic",
    "gennaker.canary.judge",
    "gennaker.web.routes",
    "gennaker.api.routes.kayenta",
    "gennaker.api.routes.canaries",
    "gennaker.api.routes.templates",
    "gennaker.api.routes.gitops",
)

SCRIPT = """
import json, sys
from gennaker.config import load_settings
from gennaker.services import build_services
from gennaker.api import create_app

url = sys.argv[1]
services = build_services(load_settings(None, overrides={"database.url": url}, environ={}))
create_app(services)
print(json.dumps(sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)))
"""


def test_an_sqlite_server_defers_what_its_first_request_does_not_need(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/g.db"
    db = Database(url)
    migrate.upgrade(db)  # here: a server on a database at the newest migration does not load Alembic
    db.dispose()
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, url, json.dumps(DEFERRED)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
