"""The root ``gennaker`` command; ``main()`` is the console script."""

from __future__ import annotations

import typer

from gennaker import __version__
from gennaker.cli import (
    admin,
    applications,
    executions,
    gitops,
    infrastructure,
    pipelines,
    policies,
    server,
    templates,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gennaker {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """The command tree."""
    app = typer.Typer(
        name="gennaker",
        help="Continuous delivery with Spinnaker's model, in one Python process.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Show the version."
        ),
    ) -> None:
        """Gennaker: run it with 'gennaker up'; drive it with the other commands."""

    server.register(app)
    app.add_typer(applications.app, name="application")
    app.add_typer(pipelines.app, name="pipeline")
    app.add_typer(executions.app, name="execution")
    app.add_typer(templates.app, name="pipeline-templates")
    app.add_typer(templates.app, name="pipeline-template", hidden=True)
    app.add_typer(gitops.app, name="gitops")
    app.add_typer(policies.app, name="policy")
    app.add_typer(admin.token_app, name="token")
    app.add_typer(admin.user_app, name="user")
    infrastructure.register(app)
    return app


def main() -> None:
    """Console-script entry point."""
    build_app()(prog_name="gennaker")
