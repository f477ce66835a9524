"""``gennaker pipeline list|get|save|delete|execute|validate`` and ``pipeline execution list|get|cancel``
(spin's pipeline commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from gennaker.cli.client import ClientError
from gennaker.cli.common import (
    EndpointOpt,
    Output,
    OutputOpt,
    TokenOpt,
    api,
    die,
    duration,
    err,
    load_document,
    out,
    print_json,
    status_cell,
    status_text,
    table,
    when,
)
from gennaker.cli.watch import watch

app = typer.Typer(
    help="Pipeline configs: list, get, save, delete, execute, validate.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
execution_app = typer.Typer(
    help="Executions of a pipeline: list, get, cancel.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(execution_app, name="execution")

AppOpt = Annotated[str, typer.Option("--application", "-a", help="Application name.")]
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Pipeline name.")]
FileOpt = Annotated[Path, typer.Option("--file", "-f", help="Pipeline JSON or YAML ('-' for stdin).")]


@app.command("list")
def list_pipelines(
    application: AppOpt,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List an application's pipeline configs."""
    with api(endpoint, token) as client:
        configs = client.get(f"/applications/{application}/pipelineConfigs")
    if output == Output.json:
        print_json(configs)
        return
    rows = [
        (
            c.get("name"),
            c.get("id"),
            len(c.get("stages") or []),
            "yes" if c.get("disabled") else "",
            when(c.get("updateTs")),
        )
        for c in configs
    ]
    table(None, ("NAME", "ID", "STAGES", "DISABLED", "UPDATED"), rows)


def inactive_lines(statuses: list[Any]) -> list[str]:
    """One line per trigger the server reports inactive (``GET .../triggerStatus``)."""
    return [
        f"trigger {s.get('index')} ({s.get('type')}) is inactive: {s.get('reason')}"
        for s in statuses
        if isinstance(s, dict) and s.get("active") is False
    ]


@app.command("get")
def get_pipeline(
    application: AppOpt,
    name: NameOpt,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Print a pipeline config as JSON (its output can be saved back unchanged); triggers that
    cannot fire here are reported on stderr with the reason."""
    with api(endpoint, token) as client:
        config = client.get(f"/applications/{application}/pipelineConfigs/{name}")
        statuses = client.get(f"/applications/{application}/pipelineConfigs/{name}/triggerStatus")
    if output == Output.json:
        print_json(config)
    else:
        out.print_json(data=config)
    for line in inactive_lines(statuses if isinstance(statuses, list) else []):
        err.print(f"[yellow]warning:[/] {line}", markup=True, highlight=False)


@app.command("save")
def save_pipeline(file: FileOpt, endpoint: EndpointOpt = None, token: TokenOpt = None) -> None:
    """Create or update a pipeline config (an existing one of the same name keeps its id)."""
    config = load_document(file)
    if not isinstance(config, dict):
        raise die(f"{file} must hold a pipeline object")
    if not config.get("application") or not config.get("name"):
        raise die("the pipeline needs 'application' and 'name'")
    with api(endpoint, token) as client:
        if not config.get("id"):
            try:
                existing = client.get(
                    f"/applications/{config['application']}/pipelineConfigs/{config['name']}"
                )
                config["id"] = existing["id"]
            except ClientError as exc:
                if exc.status != 404:
                    raise
        saved = client.request("POST", "/pipelines", json=config)
    out.print(f"Pipeline [bold]{escape(str(saved.get('name')))}[/] saved (id {saved.get('id')})")


@app.command("validate")
def validate_pipeline(file: FileOpt, endpoint: EndpointOpt = None, token: TokenOpt = None) -> None:
    """Check a pipeline config on the server without saving it."""
    config = load_document(file)
    with api(endpoint, token) as client:
        client.request("POST", "/pipelines/validate", json=config)
    out.print(f"{escape(str(file))}: [green]valid[/]")


@app.command("delete")
def delete_pipeline(
    application: AppOpt, name: NameOpt, endpoint: EndpointOpt = None, token: TokenOpt = None
) -> None:
    """Delete a pipeline config."""
    with api(endpoint, token) as client:
        client.request("DELETE", f"/pipelines/{application}/{name}")
    out.print(f"Pipeline [bold]{escape(name)}[/] deleted")


def _parameters(pairs: list[str], file: Path | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if file is not None:
        loaded = load_document(file)
        if not isinstance(loaded, dict):
            raise die(f"{file} must hold an object of parameters")
        params.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise die(f"parameter {pair!r} is not key=value")
        params[key] = value
    return params


@app.command("execute")
def execute(
    application: AppOpt,
    name: NameOpt,
    parameter: Annotated[
        list[str] | None, typer.Option("--parameter", "-p", help="key=value (repeatable).")
    ] = None,
    parameter_file: Annotated[
        Path | None, typer.Option("--parameter-file", "-f", help="Parameters JSON/YAML.")
    ] = None,
    artifacts_file: Annotated[
        Path | None, typer.Option("--artifacts-file", "-t", help="Artifacts: a JSON or YAML list.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow it; exit 1 unless it succeeds.")] = False,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Start a pipeline with a manual trigger."""
    trigger: dict[str, Any] = {"type": "manual", "parameters": _parameters(parameter or [], parameter_file)}
    if artifacts_file is not None:
        artifacts = load_document(artifacts_file)
        if not isinstance(artifacts, list):
            raise die(f"{artifacts_file} must hold a list of artifacts")
        trigger["artifacts"] = artifacts
    with api(endpoint, token) as client:
        ref = client.request("POST", f"/pipelines/{application}/{name}", json=trigger)["ref"]
        execution_id = ref.rsplit("/", 1)[-1]
        if output == Output.json and not wait:
            print_json({"ref": ref, "id": execution_id})
            return
        out.print(f"Pipeline [bold]{escape(name)}[/] started: execution {execution_id}")
        if wait and not watch(client, execution_id):
            raise typer.Exit(1)


STATUS_FLAGS = {"running": "RUNNING", "succeeded": "SUCCEEDED", "failed": "TERMINAL", "canceled": "CANCELED"}


def execution_rows(executions: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Table rows for executions."""
    return [
        (
            e.get("id"),
            e.get("name"),
            status_cell(e.get("status")),
            when(e.get("buildTime")),
            duration(e.get("startTime"), e.get("endTime")),
            (e.get("trigger") or {}).get("user"),
        )
        for e in executions
    ]


@execution_app.command("list")
def list_executions(
    pipeline_id: Annotated[str, typer.Option("--pipeline-id", "-i", help="Pipeline config id.")],
    limit: Annotated[int, typer.Option("--limit", "-l", min=1, max=1000)] = 10,
    running: Annotated[bool, typer.Option("--running")] = False,
    succeeded: Annotated[bool, typer.Option("--succeeded")] = False,
    failed: Annotated[bool, typer.Option("--failed")] = False,
    canceled: Annotated[bool, typer.Option("--canceled")] = False,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List a pipeline's executions, newest first."""
    chosen = {"running": running, "succeeded": succeeded, "failed": failed, "canceled": canceled}
    params: dict[str, Any] = {"pipelineConfigIds": pipeline_id, "limit": limit}
    statuses = [STATUS_FLAGS[k] for k, v in chosen.items() if v]
    if statuses:
        params["statuses"] = ",".join(statuses)
    with api(endpoint, token) as client:
        found = client.get("/executions", params=params)
    if output == Output.json:
        print_json(found)
        return
    table(None, ("ID", "PIPELINE", "STATUS", "STARTED", "DURATION", "USER"), execution_rows(found))


@execution_app.command("get")
def get_execution(
    execution_id: Annotated[str, typer.Argument(help="Execution id.")],
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show one execution (its stages, or the whole execution JSON with -o json)."""
    with api(endpoint, token) as client:
        execution = client.get(f"/pipelines/{execution_id}")
    if output == Output.json:
        print_json(execution)
        return
    out.print(
        f"[bold]{escape(str(execution.get('name')))}[/] ({escape(str(execution.get('application')))})"
        f"  {status_text(execution.get('status'))}"
        f"  started {when(execution.get('buildTime'))}"
    )
    rows = [
        (
            s.get("id"),
            s.get("refId"),
            s.get("name"),
            s.get("type"),
            status_cell(s.get("status")),
            duration(s.get("startTime"), s.get("endTime")),
        )
        for s in execution.get("stages") or []
        if not s.get("parentStageId")
    ]
    table(None, ("STAGE ID", "REF", "NAME", "TYPE", "STATUS", "DURATION"), rows)


@execution_app.command("cancel")
def cancel_execution(
    execution_id: Annotated[str, typer.Argument(help="Execution id.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why (recorded on the execution).")] = None,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
) -> None:
    """Cancel an execution."""
    with api(endpoint, token) as client:
        params = {"reason": reason} if reason else {}
        client.request("PUT", f"/pipelines/{execution_id}/cancel", params=params)
    out.print(f"Execution {execution_id} canceling")
