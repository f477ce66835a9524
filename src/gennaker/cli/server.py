"""Server commands: ``up`` (every role in one process), ``api``, ``worker``, ``scheduler``, ``db upgrade``."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from gennaker import __version__

if TYPE_CHECKING:
    from gennaker.cli.runner import Started
    from gennaker.config import Settings

API, WORKER, SCHEDULER = "api", "worker", "scheduler"

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="gennaker.toml to read (default: ./gennaker.toml).")
]
HostOpt = Annotated[str | None, typer.Option("--host", help="Address to listen on (default 127.0.0.1).")]
PortOpt = Annotated[int | None, typer.Option("--port", help="Port to listen on (default 8084).")]
LogLevelOpt = Annotated[
    str | None, typer.Option("--log-level", help="debug, info, warning or error (GENNAKER_LOG_LEVEL).")
]
ConcurrencyOpt = Annotated[
    int | None, typer.Option("--concurrency", min=1, max=256, help="Messages handled at once.")
]

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True, rich_markup_mode=None)
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` (no traceback) and return the Exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def setup_logging(level: str | None) -> None:
    """One line per event on stderr, at ``level`` (or GENNAKER_LOG_LEVEL, default info)."""
    name = (level or os.environ.get("GENNAKER_LOG_LEVEL") or "info").upper()
    if name not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise fail(f"unknown log level {name.lower()!r}; use debug, info, warning or error")
    logging.basicConfig(
        level=name, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", stream=sys.stderr, force=True
    )
    # Alembic narrates every plugin and step at INFO; only its problems matter here.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))


def settings_from(config: Path | None, **overrides: Any) -> Settings:
    """Load the settings, with command-line overrides; a bad configuration exits 2."""
    from gennaker.clock import SystemClock
    from gennaker.config import ConfigError, load_settings
    from gennaker.gitops.settings import gitops_settings
    from gennaker.policies.evaluator import PolicyEngine
    from gennaker.policies.settings import policy_settings

    try:
        settings = load_settings(config, overrides={k: v for k, v in overrides.items() if v is not None})
        gitops_settings(settings)
        PolicyEngine(policy_settings(settings), clock=SystemClock())
    except ConfigError as exc:
        raise fail(str(exc)) from None
    return settings


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings) -> None:
    """Refuse to listen beyond this machine without authentication."""
    host = settings.server.host
    if not is_loopback(host) and not settings.auth.enabled:
        raise fail(
            f"refusing to listen on {host} without authentication: anyone who can reach it could run "
            "pipelines. Enable it ([auth] enabled = true in gennaker.toml, or GENNAKER_AUTH_ENABLED=true, "
            "then create tokens with 'gennaker token create --user NAME' or add [[auth.users]]), "
            "or listen on 127.0.0.1."
        )


def _serve(
    roles: tuple[str, ...],
    config: Path | None,
    host: str | None,
    port: int | None,
    log_level: str | None,
    concurrency: int | None,
) -> None:
    from gennaker.cli.runner import StartupError, bind, run_roles

    began = time.monotonic()
    setup_logging(log_level)
    settings = settings_from(config, **{"server.host": host, "server.port": port})
    sock = None
    url = None
    if API in roles:
        check_exposure(settings)
        try:
            sock = bind(settings.server.host, settings.server.port)
        except StartupError as exc:
            raise fail(str(exc)) from None
        bound_port = sock.getsockname()[1]
        shown = settings.server.host if ":" not in settings.server.host else f"[{settings.server.host}]"
        url = f"http://{shown}:{bound_port}"
    from gennaker.config import ConfigError
    from gennaker.services import build_services

    try:
        services = build_services(settings)
    except ConfigError as exc:  # a section validated by its owner (a provider's accounts)
        if sock is not None:
            sock.close()
        raise fail(str(exc)) from None
    except Exception as exc:  # the database is unreachable or the migration failed
        if sock is not None:
            sock.close()
        logging.getLogger("gennaker.server").debug("start failed", exc_info=True)
        raise fail(f"cannot open the database {settings.database.url}: {exc}") from None

    def banner(started: Started) -> None:
        _banner(settings, started, time.monotonic() - began)

    try:
        asyncio.run(
            run_roles(
                services,
                roles,
                sock=sock,
                url=url,
                concurrency=concurrency,
                access_log=(log_level or os.environ.get("GENNAKER_LOG_LEVEL") or "").lower() == "debug",
                on_started=banner,
            )
        )
    except StartupError as exc:
        raise fail(str(exc), 1) from None
    finally:
        services.close()


def _banner(settings: Settings, started: Started, seconds: float) -> None:
    lines = []
    if started.url:
        lines.append(f"[bold]API[/]        {started.url}   (docs: {started.url}/docs)")
    lines.append(f"[bold]roles[/]      {', '.join(started.roles)}")
    if SCHEDULER in started.roles and not started.scheduler:
        lines.append("[bold]scheduler[/]  [dim]nothing installed to schedule[/]")
    lines.append(f"[bold]database[/]   {_redact(settings.database.url)}")
    lines.append(
        f"[bold]auth[/]       {'on' if settings.auth.enabled else 'off (listening on loopback only)'}"
    )
    lines.append(f"[dim]ready in {seconds:.2f}s; Ctrl-C or SIGTERM stops gracefully[/]")
    Console(stderr=True).print(
        Panel("\n".join(lines), title=f"Gennaker {__version__}", expand=False, border_style="cyan")
    )


def _redact(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{host}" if ":" in creds else url
    return url


def up(
    host: HostOpt = None,
    port: PortOpt = None,
    config: ConfigOpt = None,
    log_level: LogLevelOpt = None,
    concurrency: ConcurrencyOpt = None,
) -> None:
    """Run everything in one process: API, worker and scheduler (SQLite by default)."""
    _serve((API, WORKER, SCHEDULER), config, host, port, log_level, concurrency)


def api(
    host: HostOpt = None, port: PortOpt = None, config: ConfigOpt = None, log_level: LogLevelOpt = None
) -> None:
    """Run the API role only (scale out on PostgreSQL)."""
    _serve((API,), config, host, port, log_level, None)


def worker(
    config: ConfigOpt = None, log_level: LogLevelOpt = None, concurrency: ConcurrencyOpt = None
) -> None:
    """Run the worker role only: lease messages and run their handlers."""
    _serve((WORKER,), config, None, None, log_level, concurrency)


def scheduler(config: ConfigOpt = None, log_level: LogLevelOpt = None) -> None:
    """Run the scheduler role only (cron triggers, registry polling)."""
    _serve((SCHEDULER,), config, None, None, log_level, None)


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None, log_level: LogLevelOpt = None) -> None:
    """Apply the schema migrations to the configured database."""
    setup_logging(log_level or "warning")
    settings = settings_from(config)
    from gennaker.db import Database
    from gennaker.store import migrate

    database = Database(settings.database.url, sqlite_synchronous=settings.database.sqlite_synchronous)
    try:
        before = migrate.current_revision(database)
        migrate.upgrade(database)
        after = migrate.current_revision(database)
    except Exception as exc:
        raise fail(f"cannot migrate {_redact(settings.database.url)}: {exc}", 1) from None
    finally:
        database.dispose()
    if before == after:
        typer.echo(f"database is up to date (revision {after})")
    else:
        typer.echo(f"database upgraded from {before or 'empty'} to {after}")


def register(app: typer.Typer) -> None:
    """Add the server commands to the root command."""
    app.command()(up)
    app.command()(api)
    app.command()(worker)
    app.command()(scheduler)
    app.add_typer(db_app, name="db")
