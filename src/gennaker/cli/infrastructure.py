"""Infrastructure commands: ``gennaker cluster list``, ``server-group list|get``, ``instance
get|logs``, ``load-balancer list`` (through the API), and ``gennaker local stop-all`` (on this
machine, through the database: destroys every local server group and stops HAProxy)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gennaker.cli.common import EndpointOpt, Output, OutputOpt, TokenOpt, api, die, print_json, table, when

AppOpt = Annotated[str, typer.Option("--application", "-a", help="Application name.")]
AccountArg = Annotated[str, typer.Argument(help="Account, e.g. local.")]
RegionArg = Annotated[str, typer.Argument(help="Region, e.g. local.")]

cluster_app = typer.Typer(help="Clusters of an application.", no_args_is_help=True)
server_group_app = typer.Typer(help="Server groups: list, get.", no_args_is_help=True)
instance_app = typer.Typer(help="Instances: get, logs.", no_args_is_help=True)
load_balancer_app = typer.Typer(help="Load balancers of an application.", no_args_is_help=True)
local_app = typer.Typer(help="The local provider on this machine.", no_args_is_help=True)


@cluster_app.command("list")
def list_clusters(
    application: AppOpt,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Cluster names by account."""
    with api(endpoint, token) as client:
        found = client.get(f"/applications/{application}/clusters")
    if output == Output.json:
        print_json(found)
        return
    table(
        None, ("ACCOUNT", "CLUSTER"), [(account, name) for account, names in found.items() for name in names]
    )


@server_group_app.command("list")
def list_server_groups(
    application: AppOpt,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Server groups with capacity and health counts."""
    with api(endpoint, token) as client:
        found = client.get(f"/applications/{application}/serverGroups")
    if output == Output.json:
        print_json(found)
        return
    rows = []
    for group in found:
        counts, capacity = group.get("instanceCounts") or {}, group.get("capacity") or {}
        rows.append(
            (
                group.get("name"),
                group.get("account"),
                group.get("region"),
                f"{capacity.get('min')}/{capacity.get('desired')}/{capacity.get('max')}",
                f"{counts.get('up', 0)}/{counts.get('total', 0)}",
                "disabled" if group.get("isDisabled") else "enabled",
                ", ".join(group.get("loadBalancers") or []),
                when(group.get("createdTime")),
            )
        )
    table(
        None,
        ("NAME", "ACCOUNT", "REGION", "MIN/DESIRED/MAX", "UP", "TRAFFIC", "LOAD BALANCERS", "CREATED"),
        rows,
    )


@server_group_app.command("get")
def get_server_group(
    account: AccountArg,
    region: RegionArg,
    name: Annotated[str, typer.Argument(help="Server group name.")],
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """One server group and its instances."""
    with api(endpoint, token) as client:
        group = client.get(f"/serverGroups/{account}/{region}/{name}")
    if output == Output.json:
        print_json(group)
        return
    rows = [
        (
            i.get("name"),
            i.get("healthState"),
            i.get("port"),
            i.get("processId"),
            i.get("restarts"),
            ", ".join(f"{h['type']}={h['state']}" for h in i.get("health") or []),
        )
        for i in group.get("instances") or []
    ]
    table(group.get("name"), ("INSTANCE", "HEALTH", "PORT", "PID", "RESTARTS", "DETAILS"), rows)


@instance_app.command("get")
def get_instance(
    account: AccountArg,
    region: RegionArg,
    instance_id: Annotated[str, typer.Argument(help="Instance id.")],
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
) -> None:
    """One instance (JSON)."""
    with api(endpoint, token) as client:
        print_json(client.get(f"/instances/{account}/{region}/{instance_id}"))


@instance_app.command("logs")
def instance_logs(
    account: AccountArg,
    region: RegionArg,
    instance_id: Annotated[str, typer.Argument(help="Instance id.")],
    stderr: Annotated[
        bool, typer.Option("--stderr", help="Standard error instead of standard output.")
    ] = False,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
) -> None:
    """The end of an instance's log."""
    with api(endpoint, token) as client:
        found = client.get(f"/instances/{account}/{region}/{instance_id}/console")
    wanted = "stderr" if stderr else "stdout"
    for entry in found.get("output") or []:
        if entry.get("name") == wanted:
            typer.echo(entry.get("output") or "", nl=False)


@load_balancer_app.command("list")
def list_load_balancers(
    application: AppOpt,
    endpoint: EndpointOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Load balancers with their address and server groups."""
    with api(endpoint, token) as client:
        found = client.get(f"/applications/{application}/loadBalancers")
    if output == Output.json:
        print_json(found)
        return
    rows = [
        (
            lb.get("name"),
            lb.get("account"),
            lb.get("dnsName"),
            ", ".join(g["name"] for g in lb.get("serverGroups") or []),
        )
        for lb in found
    ]
    table(None, ("NAME", "ACCOUNT", "ADDRESS", "SERVER GROUPS"), rows)


@local_app.command("stop-all")
def stop_all(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="gennaker.toml to read.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
) -> None:
    """Destroy every local server group and stop HAProxy (Gennaker itself never stops them)."""
    from gennaker.cli.server import settings_from
    from gennaker.providers.local.provider import LocalProvider
    from gennaker.services import build_services

    if not yes and not typer.confirm("Stop every process deployed by the local provider on this machine?"):
        raise typer.Exit(1)
    services = build_services(settings_from(config))
    try:
        provider: Any = services.clouddriver.registry.get("local")
        if not isinstance(provider, LocalProvider):
            raise die("the local provider is not installed")
        stopped = provider.stop_all()
    finally:
        services.close()
    for account, count in stopped.items():
        typer.echo(f"{account}: destroyed {count} server group(s), stopped HAProxy")


def register(app: typer.Typer) -> None:
    """Add the infrastructure commands."""
    app.add_typer(cluster_app, name="cluster")
    app.add_typer(server_group_app, name="server-group")
    app.add_typer(instance_app, name="instance")
    app.add_typer(load_balancer_app, name="load-balancer")
    app.add_typer(local_app, name="local")
