"""``gennaker token create|list|revoke`` and ``gennaker user hash-password``: credentials, managed
on the database directly (the first token has to come from somewhere)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gennaker.authn.passwords import hash_password
from gennaker.cli.common import Output, OutputOpt, out, print_json, table, when
from gennaker.cli.server import ConfigOpt, fail, settings_from

token_app = typer.Typer(
    help="API tokens (Authorization: Bearer).", no_args_is_help=True, rich_markup_mode=None
)
user_app = typer.Typer(help="Local users (HTTP Basic).", no_args_is_help=True, rich_markup_mode=None)


def _database(config: ConfigOpt) -> object:
    from gennaker.db import Database
    from gennaker.store import migrate

    settings = settings_from(config)
    database = Database(settings.database.url, sqlite_synchronous=settings.database.sqlite_synchronous)
    try:
        migrate.upgrade(database)
    except Exception as exc:
        database.dispose()
        raise fail(f"cannot open the database {settings.database.url}: {exc}", 1) from None
    return database


def _now() -> int:
    import time

    return time.time_ns() // 1_000_000


@token_app.command("create")
def create_token(
    user: Annotated[str, typer.Option("--user", "-u", help="Whose token it is (becomes trigger.user ...).")],
    description: Annotated[str | None, typer.Option("--description", "-d", help="What it is for.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    from gennaker.authn.tokens import TokenRepository
    from gennaker.db import Database

    database = _database(config)
    assert isinstance(database, Database)
    try:
        with database.transaction() as conn:
            record, secret = TokenRepository().create(conn, user, now_ms=_now(), description=description)
    except ValueError as exc:
        raise fail(str(exc), 1) from None
    finally:
        database.dispose()
    sys.stderr.write(f"token {record.id} for {record.user} (shown once; store it now):\n")
    sys.stdout.write(secret + "\n")


@token_app.command("list")
def list_tokens(config: ConfigOpt = None, output: OutputOpt = Output.table) -> None:
    """List tokens (never their secrets)."""
    from gennaker.authn.tokens import TokenRepository
    from gennaker.db import Database

    database = _database(config)
    assert isinstance(database, Database)
    try:
        with database.read() as conn:
            tokens = TokenRepository().list(conn)
    finally:
        database.dispose()
    if output == Output.json:
        print_json(
            [
                {
                    "id": t.id,
                    "user": t.user,
                    "description": t.description,
                    "createdAt": t.created_at,
                    "revokedAt": t.revoked_at,
                }
                for t in tokens
            ]
        )
        return
    rows = [
        (
            t.id,
            t.user,
            t.description or "",
            when(t.created_at),
            "revoked " + when(t.revoked_at) if t.revoked_at else "active",
        )
        for t in tokens
    ]
    table(None, ("ID", "USER", "DESCRIPTION", "CREATED", "STATE"), rows)


@token_app.command("revoke")
def revoke_token(
    token_id: Annotated[str, typer.Argument(help="Token id (from 'token list').")], config: ConfigOpt = None
) -> None:
    """Revoke a token: requests with it are refused from now on."""
    from gennaker.authn.tokens import TokenRepository
    from gennaker.db import Database

    database = _database(config)
    assert isinstance(database, Database)
    try:
        with database.transaction() as conn:
            revoked = TokenRepository().revoke(conn, token_id, now_ms=_now())
    finally:
        database.dispose()
    if not revoked:
        raise fail(f"no active token has id {token_id}", 1)
    out.print(f"token {token_id} revoked")


@user_app.command("hash-password")
def hash_password_command(
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Print a password hash for [[auth.users]] password_hash in gennaker.toml."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise fail("the password is empty", 1)
    sys.stdout.write(hash_password(password) + "\n")
