"""Server and admin commands that need no running API: refusing unsafe starts, bad configuration,
tokens, password hashes, migrations, the client's configuration file."""

from __future__ import annotations

from pathlib import Path

import pytest

from gennaker.authn.passwords import verify_password
from gennaker.cli.client import resolve
from tests.cli.conftest import Cli


def _cli(tmp_path: Path, **env: str) -> Cli:
    base = {
        "GENNAKER_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}",
        "GENNAKER_CLI_CONFIG": str(tmp_path / "c.yaml"),
    }
    return Cli({**base, **env})


def test_up_refuses_a_public_address_without_auth(tmp_path: Path) -> None:
    result = _cli(tmp_path)("up", "--host", "0.0.0.0", "--port", "0")
    assert result.exit_code == 2
    assert "refusing to listen on 0.0.0.0 without authentication" in result.stderr
    assert "Traceback" not in result.output
    # Item 12 of issue #10: Rich took these for markup and printed "( enabled = true ...".
    flat = " ".join(result.stderr.split())
    assert "[auth] enabled = true" in flat and "[[auth.users]]" in flat


def test_a_bad_configuration_exits_2_with_the_setting_named(tmp_path: Path) -> None:
    result = _cli(tmp_path, GENNAKER_PORT="eighty")("up")
    assert result.exit_code == 2 and "server.port" in result.stderr and "Traceback" not in result.output
    missing = _cli(tmp_path)("api", "--config", str(tmp_path / "absent.toml"))
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = _cli(tmp_path)("up", "--port", port)
    assert result.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_db_upgrade(tmp_path: Path) -> None:
    cli = _cli(tmp_path)
    first = cli("db", "upgrade")
    assert first.exit_code == 0 and "database upgraded from empty" in first.stdout
    assert "up to date" in cli("db", "upgrade").stdout


def test_tokens_are_shown_once_listed_and_revoked(tmp_path: Path) -> None:
    cli = _cli(tmp_path)
    created = cli("token", "create", "--user", "ci-bot", "--description", "pipeline runner")
    assert created.exit_code == 0
    secret = created.stdout.strip()
    assert secret.startswith("gnk_") and len(secret) > 40
    listed = cli("token", "list", "-o", "json")
    tokens = __import__("json").loads(listed.stdout)
    assert [(t["user"], t["description"], t["revokedAt"]) for t in tokens] == [
        ("ci-bot", "pipeline runner", None)
    ]
    assert secret not in listed.stdout
    assert cli("token", "revoke", tokens[0]["id"]).exit_code == 0
    again = cli("token", "revoke", tokens[0]["id"])
    assert again.exit_code == 1 and "no active token" in again.stderr
    assert "revoked" in cli("token", "list").stdout


def test_hash_password(tmp_path: Path) -> None:
    result = _cli(tmp_path)("user", "hash-password", "--password-stdin", input="hunter2\n")
    assert result.exit_code == 0
    assert verify_password("hunter2", result.stdout.strip())


def test_client_configuration_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("endpoint: http://file:1/\ntoken: from-file\n")
    monkeypatch.setenv("GENNAKER_CLI_CONFIG", str(config))
    monkeypatch.delenv("GENNAKER_ENDPOINT", raising=False)
    monkeypatch.delenv("GENNAKER_TOKEN", raising=False)
    assert resolve() == resolve(None, None)
    assert resolve().endpoint == "http://file:1" and resolve().token == "from-file"
    monkeypatch.setenv("GENNAKER_ENDPOINT", "http://env:2")
    assert resolve().endpoint == "http://env:2"
    assert (
        resolve("http://flag:3", "t").endpoint == "http://flag:3"
        and resolve("http://flag:3", "t").token == "t"
    )
