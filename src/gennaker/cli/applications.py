"""``gennaker application list|get|save|delete`` (spin's application commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from gennaker.cli.common import (
    EndpointOpt,
    Output,
    OutputOpt,
    TokenOpt,
    api,
    die,
    load_document,
    out,
    print_json,
    table,
    wait_for_task,
    when,
)

app = typer.Typer(help="Applications: list, get, save, delete.", no_args_is_help=True, rich_markup_mode=None)


@app.command("list")
def list_applications(
    endpoint: EndpointOpt = None, token: TokenOpt = None, output: OutputOpt = Output.table
) -> None:
    """List applications."""
    with api(endpoint, token) as client:
        apps = client.get("/applications")
    if output == Output.json:
        print_json(apps)
        return
    rows = [(a.get("name"), a.get("email"), a.get("cloudProviders"), when(a.get("updateTs"))) for a in apps]
    table(None, ("NAME", "OWNER", "CLOUD PROVIDERS", "UPDATED"), rows)


@app.command("get")
def get_application(
    application: Annotated[str, typer.Argument(help="Application name.")],
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show one application."""
    with api(endpoint, token) as client:
        found = client.get(f"/applications/{application}")
    if output == Output.json:
        print_json(found)
        return
    attributes = found.get("attributes") or {}
    table(found.get("name"), ("ATTRIBUTE", "VALUE"), [(k, v) for k, v in attributes.items()])


@app.command("save")
def save_application(
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Application JSON or YAML.")] = None,
    application_name: Annotated[str | None, typer.Option("--application-name", help="Name.")] = None,
    owner_email: Annotated[str | None, typer.Option("--owner-email", help="Owner's email.")] = None,
    cloud_providers: Annotated[
        str | None, typer.Option("--cloud-providers", help="Comma-separated, e.g. kubernetes,aws.")
    ] = None,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
) -> None:
    """Create or update an application (from a file, or from the flags)."""
    body: Any = load_document(file) if file is not None else {}
    if not isinstance(body, dict):
        raise die("the application file must hold a JSON/YAML object")
    for key, value in (
        ("name", application_name),
        ("email", owner_email),
        ("cloudProviders", cloud_providers),
    ):
        if value is not None:
            body[key] = value
    if not body.get("name") or not body.get("email"):
        raise die("an application needs a name and an owner email (--application-name, --owner-email or -f)")
    job = {"type": "createApplication", "application": body, "user": body.get("email")}
    with api(endpoint, token) as client:
        ref = client.request(
            "POST",
            "/tasks",
            json={
                "application": body["name"],
                "description": f"Create Application: {body['name']}",
                "job": [job],
            },
        )["ref"]
        wait_for_task(client, ref)
    out.print(f"Application [bold]{escape(str(body['name']).lower())}[/] saved")


@app.command("delete")
def delete_application(
    application: Annotated[str, typer.Argument(help="Application name.")],
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
) -> None:
    """Delete an application and its pipeline configs."""
    job = {"type": "deleteApplication", "application": {"name": application}}
    with api(endpoint, token) as client:
        client.get(f"/applications/{application}")
        ref = client.request(
            "POST",
            "/tasks",
            json={
                "application": application,
                "description": f"Delete Application: {application}",
                "job": [job],
            },
        )["ref"]
        wait_for_task(client, ref)
    out.print(f"Application [bold]{escape(application)}[/] deleted")
