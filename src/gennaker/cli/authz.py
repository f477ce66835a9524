"""``gennaker authz check``: explain an authorization decision (who, which roles from where, which
rule) from this machine's configuration and database, as the API would decide it."""

from __future__ import annotations

from typing import Annotated

import typer

from gennaker.cli.common import Output, OutputOpt, print_json
from gennaker.cli.server import ConfigOpt, fail, settings_from

app = typer.Typer(
    help="Authorization (Fiat): explain decisions.", no_args_is_help=True, rich_markup_mode=None
)

ACTIONS = ("READ", "WRITE", "EXECUTE", "CREATE")


@app.command("check")
def check(
    user: Annotated[str, typer.Option("--user", "-u", help="The user or service account.")],
    application: Annotated[str | None, typer.Option("--app", "-a", help="An application.")] = None,
    account: Annotated[
        str | None, typer.Option("--account", help="A cloud account (instead of --app).")
    ] = None,
    action: Annotated[str, typer.Option("--action", help="READ, WRITE, EXECUTE or CREATE.")] = "READ",
    config: ConfigOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """May USER do ACTION on the application (or account)? Exit 0 when allowed, 1 when not."""
    from gennaker.authz.model import Action
    from gennaker.services import build_services

    wanted = action.strip().upper()
    if wanted not in ACTIONS:
        raise fail(f"--action must be one of {', '.join(ACTIONS)} (got {action!r})", 2)
    if (application is None) == (account is None):
        raise fail("give --app or --account (one of them)", 2)
    try:
        services = build_services(settings_from(config), load_entry_points=False)
    except Exception as exc:
        raise fail(f"cannot start from this configuration: {exc}", 1) from None
    try:
        authz = services.authz
        who = authz.evaluator.principal(user)
        if application is not None:
            decision = authz.application(who, application, Action(wanted))
        else:
            assert account is not None
            decision = authz.evaluator.account(who, account, Action(wanted))
    finally:
        services.close()
    result = {
        "user": who.name,
        "roles": sorted(who.roles),
        "roleSources": list(who.sources),
        "admin": who.admin,
        "serviceAccount": who.service_account,
        "action": decision.action.value,
        "resourceType": decision.resource_type,
        "resource": decision.resource,
        "allowed": decision.allowed,
        "rule": decision.rule,
        "authorizationEnabled": authz.enabled,
    }
    if output == Output.json:
        print_json(result)
    else:
        verdict = "ALLOWED" if decision.allowed else "DENIED"
        typer.echo(
            f"{verdict}: {who.name} {decision.action.value} on {decision.resource_type} {decision.resource!r}"
        )
        typer.echo(
            f"  roles: {', '.join(sorted(who.roles)) or 'none'} (from {', '.join(who.sources) or 'no provider'})"
        )
        if who.admin:
            typer.echo("  admin: yes")
        typer.echo(f"  rule: {decision.rule}")
        if not authz.enabled:
            typer.echo("  note: authentication is off here, so the API checks nothing")
    if not decision.allowed:
        raise typer.Exit(1)
