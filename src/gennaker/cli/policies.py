"""``gennaker policy list|evaluate``: the configured policies, and a dry run that explains a decision."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
)

app = typer.Typer(
    help="Policies: list them, or explain what they decide for a document.", no_args_is_help=True
)


@app.command("list")
def list_policies(
    endpoint: EndpointOpt = None, token: TokenOpt = None, output: OutputOpt = Output.table
) -> None:
    """Every configured policy."""
    with api(endpoint, token) as client:
        policies = client.get("/policies")
    if output == Output.json:
        print_json(policies)
        return
    rows = [(p["name"], p["effect"], ",".join(p["scopes"]), p["engine"], p["message"]) for p in policies]
    table(None, ("NAME", "EFFECT", "SCOPES", "ENGINE", "MESSAGE"), rows)


@app.command("evaluate")
def evaluate(
    file: Annotated[Path, typer.Option("--file", "-f", help="A pipeline (save scope) or an input document.")],
    scope: Annotated[str, typer.Option("--scope", help="save, start or stage.")] = "save",
    as_input: Annotated[bool, typer.Option("--input", help="The file is the input document itself.")] = False,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Which policies allow, deny or warn, and why; exit status 1 when one denies."""
    document = load_document(file)
    if not isinstance(document, dict):
        raise die(f"{file} must hold a JSON/YAML object")
    body: dict[str, object] = {"scope": scope}
    if as_input or scope != "save":
        body["input"] = document
    else:
        kind = (
            "template"
            if document.get("schema") == "v2" and isinstance(document.get("pipeline"), dict)
            else "pipeline"
        )
        body[kind] = document
    with api(endpoint, token) as client:
        answer = client.request("POST", "/policies/evaluate", json=body)
    if output == Output.json:
        print_json(answer)
    else:
        rows = [(v["policy"], v["outcome"], v.get("message") or "") for v in answer["verdicts"]]
        table(None, ("POLICY", "DECISION", "MESSAGE"), rows)
        out.print("[green]allowed[/]" if answer["allowed"] else "[red]denied[/]")
    if not answer["allowed"]:
        raise typer.Exit(1)
