"""``gennaker authz check`` explains a decision from the configuration and the database."""

from __future__ import annotations

import json
from pathlib import Path

from gennaker.config import load_settings
from gennaker.services import build_services
from tests.cli.conftest import Cli

CONFIG = """
[auth]
enabled = true

[[auth.users]]
name = "ann"
password_hash = "pbkdf2_sha256$1000$00$00"
roles = ["viewers"]

[[auth.users]]
name = "boss"
password_hash = "pbkdf2_sha256$1000$00$00"
roles = ["admins"]

[[auth.service_accounts]]
name = "ci-bot"
member_of = ["runners"]

[authz]
admin_roles = ["admins"]
"""


def _setup(tmp_path: Path) -> Cli:
    config = tmp_path / "gennaker.toml"
    config.write_text(CONFIG)
    db = f"sqlite:///{tmp_path / 'g.db'}"
    services = build_services(
        load_settings(config, environ={}, overrides={"database.url": db}), load_entry_points=False
    )
    try:
        with services.db.transaction() as conn:
            services.applications.upsert(
                conn,
                {
                    "name": "shop",
                    "email": "a@example.com",
                    "permissions": {"READ": ["viewers"], "EXECUTE": ["runners"]},
                },
            )
    finally:
        services.close()
    return Cli(
        {
            "GENNAKER_CONFIG": str(config),
            "GENNAKER_DATABASE_URL": db,
            "GENNAKER_CLI_CONFIG": str(tmp_path / "c.yaml"),
        }
    )


def test_check_explains_a_refusal_with_the_roles_and_the_rule(tmp_path: Path) -> None:
    cli = _setup(tmp_path)
    denied = cli("authz", "check", "--user", "ann", "--app", "shop", "--action", "EXECUTE")
    assert denied.exit_code == 1
    assert "DENIED: ann EXECUTE on application 'shop'" in denied.stdout
    assert "roles: viewers (from config)" in denied.stdout
    assert "EXECUTE is granted to runners; ann has roles: viewers" in denied.stdout


def test_check_explains_grants_for_service_accounts_and_admins(tmp_path: Path) -> None:
    cli = _setup(tmp_path)
    bot = cli("authz", "check", "--user", "ci-bot", "--app", "shop", "--action", "execute", "-o", "json")
    assert bot.exit_code == 0
    body = json.loads(bot.stdout)
    assert body["allowed"] and body["serviceAccount"] and body["rule"] == "role runners holds EXECUTE"
    boss = cli("authz", "check", "--user", "boss", "--app", "shop", "--action", "WRITE")
    assert boss.exit_code == 0 and "is an admin (role admins)" in boss.stdout


def test_check_rejects_bad_arguments(tmp_path: Path) -> None:
    cli = _setup(tmp_path)
    bad = cli("authz", "check", "--user", "ann", "--app", "shop", "--action", "DEPLOY")
    assert bad.exit_code == 2 and "--action must be one of" in bad.stderr
    neither = cli("authz", "check", "--user", "ann")
    assert neither.exit_code == 2 and "give --app or --account" in neither.stderr
