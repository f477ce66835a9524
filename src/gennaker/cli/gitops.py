"""``gennaker gitops status|plan|sync``: the repositories pipelines are kept in."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gennaker.cli.common import (
    EndpointOpt,
    Output,
    OutputOpt,
    TokenOpt,
    api,
    die,
    out,
    print_json,
    table,
    when,
)

app = typer.Typer(help="Pipelines kept in git: status, plan, sync.", no_args_is_help=True)

RepoArg = Annotated[str, typer.Argument(help="Repository name, as [[gitops.repositories]] names it.")]


def _show(report: dict[str, Any], output: Output) -> None:
    if output == Output.json:
        print_json(report)
    else:
        commit = str(report.get("commit") or "")[:12] or "-"
        out.print(
            f"[bold]{report['repository']}[/] at {commit} by {report.get('author') or '-'}: {report['status']}"
        )
        changes = [c for c in report.get("changes") or [] if c["action"] != "unchanged"]
        if changes:
            table(
                None,
                ("ACTION", "KIND", "KEY", "FILE"),
                [(c["action"], c["kind"], c["key"], c["file"]) for c in changes],
            )
        for error in report.get("errors") or []:
            where = f"{error['file']}:{error['line']}" if error.get("line") else error["file"]
            out.print(f"[red]error[/] {where}: {error['message']}", highlight=False)
    if report["status"] == "failed":
        raise typer.Exit(1)


@app.command("status")
def status(endpoint: EndpointOpt = None, token: TokenOpt = None, output: OutputOpt = Output.table) -> None:
    """Every repository with its last commit and sync."""
    with api(endpoint, token) as client:
        repos = client.get("/gitops")
    if output == Output.json:
        print_json(repos)
        return
    rows = [
        (
            r["name"],
            r["branch"],
            str(r.get("lastCommit") or "")[:12] or "-",
            r.get("lastStatus"),
            when(r.get("lastAttemptAt")),
            len(r.get("managed") or []),
        )
        for r in repos
    ]
    table(None, ("NAME", "BRANCH", "COMMIT", "STATUS", "LAST ATTEMPT", "MANAGED"), rows)


@app.command("plan")
def plan(
    repository: RepoArg,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """What a sync of the branch's newest commit would change, and every file's problems."""
    with api(endpoint, token) as client:
        report = client.get(f"/gitops/{repository}/plan")
    _show(report, output)


@app.command("sync")
def sync(
    repository: RepoArg,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Apply the newest commit now (all of it, or nothing when a file is invalid)."""
    with api(endpoint, token) as client:
        report = client.request("POST", f"/gitops/{repository}/sync")
    if not isinstance(report, dict):
        raise die("unexpected answer from the API")
    _show(report, output)
