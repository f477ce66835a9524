"""``gennaker execution watch|pause|resume|restart-stage|judge``: following and steering one execution."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from gennaker.cli.common import EndpointOpt, TokenOpt, api, die, out
from gennaker.cli.watch import watch

app = typer.Typer(help="Follow and steer one execution.", no_args_is_help=True, rich_markup_mode=None)

IdArg = Annotated[str, typer.Argument(help="Execution id.")]
StageArg = Annotated[str, typer.Argument(help="Stage id (see 'gennaker pipeline execution get').")]


@app.command("watch")
def watch_execution(execution_id: IdArg, endpoint: EndpointOpt = None, token: TokenOpt = None) -> None:
    """Show progress stage by stage until the execution ends; exit 1 unless it succeeded."""
    with api(endpoint, token) as client:
        succeeded = watch(client, execution_id)
    if not succeeded:
        raise typer.Exit(1)


@app.command("pause")
def pause(execution_id: IdArg, endpoint: EndpointOpt = None, token: TokenOpt = None) -> None:
    """Pause a running execution."""
    with api(endpoint, token) as client:
        client.request("PUT", f"/pipelines/{execution_id}/pause")
    out.print(f"Execution {execution_id} paused")


@app.command("resume")
def resume(execution_id: IdArg, endpoint: EndpointOpt = None, token: TokenOpt = None) -> None:
    """Resume a paused execution."""
    with api(endpoint, token) as client:
        client.request("PUT", f"/pipelines/{execution_id}/resume")
    out.print(f"Execution {execution_id} resumed")


@app.command("restart-stage")
def restart_stage(
    execution_id: IdArg, stage_id: StageArg, endpoint: EndpointOpt = None, token: TokenOpt = None
) -> None:
    """Run a finished stage, and the stages after it, again."""
    with api(endpoint, token) as client:
        client.request("PUT", f"/pipelines/{execution_id}/stages/{stage_id}/restart", json={})
    out.print(f"Stage {stage_id} of {execution_id} restarting")


@app.command("judge")
def judge(
    execution_id: IdArg,
    stage_id: StageArg,
    proceed: Annotated[bool, typer.Option("--continue", help="Let the pipeline go on.")] = False,
    stop: Annotated[bool, typer.Option("--stop", help="Stop the pipeline here.")] = False,
    judgment_input: Annotated[
        str | None, typer.Option("--input", help="One of the stage's judgment inputs.")
    ] = None,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
) -> None:
    """Give a manual judgment: --continue or --stop."""
    if proceed == stop:
        raise die("give exactly one of --continue and --stop")
    patch: dict[str, Any] = {"judgmentStatus": "continue" if proceed else "stop"}
    if judgment_input is not None:
        patch["judgmentInput"] = judgment_input
    with api(endpoint, token) as client:
        client.request("PATCH", f"/pipelines/{execution_id}/stages/{stage_id}", json=patch)
    out.print(f"Judgment '{escape(str(patch['judgmentStatus']))}' given to stage {stage_id}")
