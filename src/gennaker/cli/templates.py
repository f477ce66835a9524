"""``gennaker pipeline-templates list|get|save|plan|delete`` (spin's ``pipeline-template`` commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gennaker.cli.client import ClientError
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

app = typer.Typer(help="Pipeline templates (MPT v2): list, get, save, plan, delete.", no_args_is_help=True)

IdOpt = Annotated[str, typer.Option("--id", help="Template id.")]
TagOpt = Annotated[
    str | None, typer.Option("--tag", "-t", help="Tag: latest, stable, unstable, experimental, test, canary.")
]
FileOpt = Annotated[Path, typer.Option("--file", "-f", help="JSON or YAML file ('-' for stdin).")]


@app.command("list")
def list_templates(
    scopes: Annotated[str | None, typer.Option("--scopes", help="Comma-separated scopes.")] = None,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List every tagged template version."""
    with api(endpoint, token) as client:
        templates = client.get("/v2/pipelineTemplates", params={"scopes": scopes} if scopes else None)
    if output == Output.json:
        print_json(templates)
        return
    rows = [
        (
            t.get("id"),
            t.get("tag"),
            (t.get("metadata") or {}).get("name"),
            str(t.get("digest") or "")[:12],
            when(t.get("updateTs")),
        )
        for t in templates
    ]
    table(None, ("ID", "TAG", "NAME", "DIGEST", "UPDATED"), rows)


@app.command("get")
def get_template(
    template_id: IdOpt,
    tag: TagOpt = None,
    digest: Annotated[str | None, typer.Option("--digest", help="A digest version instead of a tag.")] = None,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
) -> None:
    """Print one template version as JSON."""
    params = {k: v for k, v in (("tag", tag), ("digest", digest)) if v}
    with api(endpoint, token) as client:
        print_json(client.get(f"/v2/pipelineTemplates/{template_id}", params=params or None))


@app.command("save")
def save_template(
    file: FileOpt, tag: TagOpt = None, endpoint: EndpointOpt = None, token: TokenOpt = None
) -> None:
    """Create or update a template under a tag (``latest`` moves too, as in Front50)."""
    template = load_document(file)
    if not isinstance(template, dict) or not isinstance(template.get("id"), str):
        raise die(f"{file} must hold a pipeline template object with an 'id'")
    params = {"tag": tag} if tag else None
    with api(endpoint, token) as client:
        ref = client.request(
            "POST", f"/v2/pipelineTemplates/update/{template['id']}", json=template, params=params
        )
        wait_for_task(client, ref["ref"])
    out.print(f"Pipeline template [bold]{template['id']}[/] saved" + (f" as {tag}" if tag else ""))


@app.command("plan")
def plan(file: FileOpt, endpoint: EndpointOpt = None, token: TokenOpt = None) -> None:
    """Print the pipeline a templated pipeline config plans into (nothing is saved or run)."""
    config = load_document(file)
    with api(endpoint, token) as client:
        print_json(client.request("POST", "/v2/pipelineTemplates/plan", json=config))


@app.command("delete")
def delete_template(
    template_id: IdOpt, tag: TagOpt = None, endpoint: EndpointOpt = None, token: TokenOpt = None
) -> None:
    """Delete one tag of a template, or every version when no tag is given."""
    params = {"tag": tag} if tag else None
    with api(endpoint, token) as client:
        try:
            ref = client.request("DELETE", f"/v2/pipelineTemplates/{template_id}", params=params)
            wait_for_task(client, ref["ref"])
        except ClientError as exc:
            raise die(str(exc)) from None
    out.print(f"Pipeline template [bold]{template_id}[/] deleted" + (f" ({tag})" if tag else ""))
