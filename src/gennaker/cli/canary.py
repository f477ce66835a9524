"""``gennaker canary config list|get|save|delete`` and ``gennaker canary judgment list|show``: canary
configs and the judgments made with them (through Gate's ``/v2/canaryConfig`` and ``/v2/canaries``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gennaker.cli.common import (
    EndpointOpt,
    Output,
    OutputOpt,
    TokenOpt,
    api,
    load_document,
    out,
    print_json,
    table,
    when,
)

app = typer.Typer(help="Canary analysis: configs and judgments.", no_args_is_help=True)
configs = typer.Typer(help="Canary configs: list, get, save, delete.", no_args_is_help=True)
judgments = typer.Typer(help="Canary judgments: list, show.", no_args_is_help=True)
app.add_typer(configs, name="config")
app.add_typer(judgments, name="judgment")

ApplicationOpt = Annotated[str | None, typer.Option("--application", "-a", help="Only this application's.")]


@configs.command("list")
def list_configs(
    application: ApplicationOpt = None,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List canary configs."""
    with api(endpoint, token) as client:
        found = client.get("/v2/canaryConfig", params={"application": application} if application else None)
    if output == Output.json:
        print_json(found)
        return
    rows = [
        (c.get("name"), c.get("id"), ", ".join(c.get("applications") or []), when(c.get("updatedTimestamp")))
        for c in found
    ]
    table(None, ("NAME", "ID", "APPLICATIONS", "UPDATED"), rows)


@configs.command("get")
def get_config(
    config_id: Annotated[str, typer.Argument(help="Canary config id.")],
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
) -> None:
    """Print one canary config as JSON."""
    with api(endpoint, token) as client:
        print_json(client.get(f"/v2/canaryConfig/{config_id}"))


@configs.command("save")
def save_config(
    file: Annotated[Path, typer.Option("--file", "-f", help="Canary config JSON or YAML ('-' for stdin).")],
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
) -> None:
    """Create a canary config, or replace the one with the file's id."""
    document = load_document(file)
    with api(endpoint, token) as client:
        config_id = document.get("id") if isinstance(document, dict) else None
        exists = False
        if config_id:
            exists = any(c.get("id") == config_id for c in client.get("/v2/canaryConfig"))
        if exists:
            saved = client.request("PUT", f"/v2/canaryConfig/{config_id}", json=document)
        else:
            saved = client.request("POST", "/v2/canaryConfig", json=document)
    out.print(f"Canary config saved: {saved['canaryConfigId']}")


@configs.command("delete")
def delete_config(
    config_id: Annotated[str, typer.Argument(help="Canary config id.")],
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
) -> None:
    """Delete a canary config."""
    with api(endpoint, token) as client:
        client.request("DELETE", f"/v2/canaryConfig/{config_id}")
    out.print(f"Canary config deleted: {config_id}")


@judgments.command("list")
def list_judgments(
    application: Annotated[str, typer.Option("--application", "-a", help="Application.")],
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 20,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List an application's canary judgments."""
    with api(endpoint, token) as client:
        found = client.get(f"/v2/canaries/{application}/executions", params={"limit": limit})
    if output == Output.json:
        print_json(found)
        return
    rows = []
    for run in found:
        score = ((run.get("result") or {}).get("judgeResult") or {}).get("score") or {}
        rows.append((run.get("pipelineId"), (run.get("config") or {}).get("name"), run.get("status"),
                     score.get("score"), score.get("classification"), when(run.get("endTimeMillis"))))  # fmt: skip
    table(None, ("ID", "CONFIG", "STATUS", "SCORE", "RESULT", "ENDED"), rows)


def _stats(metadata: Any) -> str:
    stats = (metadata or {}).get("stats") or {}
    mean = stats.get("mean")
    shown = f"{mean:.4g}" if isinstance(mean, (int, float)) else str(mean)
    return f"{shown} (n={stats.get('count', 0)})"


@judgments.command("show")
def show_judgment(
    execution_id: Annotated[str, typer.Argument(help="Canary execution id (canaryPipelineExecutionId).")],
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show a judgment: the score, and per metric its classification, statistics and reason."""
    with api(endpoint, token) as client:
        run = client.get(f"/v2/canaries/canary/{execution_id}")
    if output == Output.json:
        print_json(run)
        return
    result = (run.get("result") or {}).get("judgeResult")
    if result is None:
        exception = run.get("exception") or {}
        out.print(
            f"Canary {execution_id}: {run.get('status')} {exception.get('details', {}).get('error', '')}"
        )
        return
    score = result["score"]
    title = f"{(run.get('config') or {}).get('name')}: score {score['score']} ({score['classification']})"
    if score.get("classificationReason"):
        title += f" - {score['classificationReason']}"
    rows: list[tuple[Any, ...]] = []
    for metric in result.get("results") or []:
        tags = ",".join(f"{k}={v}" for k, v in (metric.get("tags") or {}).items())
        rows.append(
            (
                metric.get("name")
                + (f" [{tags}]" if tags else "")
                + (" (muted)" if metric.get("muted") else ""),
                metric.get("classification") + (" critical" if metric.get("critical") else ""),
                _stats(metric.get("controlMetadata")),
                _stats(metric.get("experimentMetadata")),
                (metric.get("resultMetadata") or {}).get("ratio"),
            )
        )
    out.print(title)
    table(None, ("METRIC", "RESULT", "BASELINE MEAN", "CANARY MEAN", "RATIO"), rows)
    for metric in result.get("results") or []:
        if metric.get("classificationReason"):
            out.print(f"  {metric.get('name')}: {metric['classificationReason']}")
    groups = [(g["name"], g["score"]) for g in result.get("groupScores") or []]
    table(None, ("GROUP", "SCORE"), groups)
