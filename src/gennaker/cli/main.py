"""The root ``gennaker`` command; ``main()`` is the console script."""

from __future__ import annotations

from typing import Any

import typer

from gennaker import __version__
from gennaker.cli import (
    admin,
    applications,
    authz,
    canary,
    executions,
    gitops,
    infrastructure,
    pipelines,
    policies,
    server,
    templates,
)
from gennaker.cli.common import ENDPOINT_HELP, TOKEN_HELP


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gennaker {__version__}")
        raise typer.Exit()


def _defaults(command: Any, values: dict[str, str | None]) -> dict[str, Any]:
    """A click ``default_map`` giving ``values`` to every subcommand that has such options."""
    found: dict[str, Any] = {}
    for name, sub in (getattr(command, "commands", None) or {}).items():
        own = {p.name for p in getattr(sub, "params", ())}
        entry: dict[str, Any] = {k: v for k, v in values.items() if v is not None and k in own}
        entry.update(_defaults(sub, values))
        if entry:
            found[name] = entry
    return found


def build_app() -> typer.Typer:
    """The command tree."""
    app = typer.Typer(
        name="gennaker",
        help="Continuous delivery with Spinnaker's model, in one Python process.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Show the version."
        ),
        endpoint: str | None = typer.Option(None, "--endpoint", help=ENDPOINT_HELP),
        token: str | None = typer.Option(None, "--token", help=TOKEN_HELP),
    ) -> None:
        """Gennaker: run it with 'gennaker up'; drive it with the other commands."""
        given = {"endpoint": endpoint, "token": token}
        if any(given.values()):
            # Given before the command, they become the defaults of every command's own options.
            ctx.default_map = {**(ctx.default_map or {}), **_defaults(ctx.command, given)}

    server.register(app)
    app.add_typer(applications.app, name="application")
    app.add_typer(pipelines.app, name="pipeline")
    app.add_typer(executions.app, name="execution")
    app.add_typer(templates.app, name="pipeline-templates")
    app.add_typer(templates.app, name="pipeline-template", hidden=True)
    app.add_typer(gitops.app, name="gitops")
    app.add_typer(policies.app, name="policy")
    app.add_typer(canary.app, name="canary")
    app.add_typer(admin.token_app, name="token")
    app.add_typer(admin.user_app, name="user")
    app.add_typer(authz.app, name="authz")
    infrastructure.register(app)
    return app


def main() -> None:
    """Console-script entry point."""
    build_app()(prog_name="gennaker")
