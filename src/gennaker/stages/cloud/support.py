"""What the server group, cluster and load balancer stages share: reading the account, region
and provider from a stage context (Orca's StageData and CloudProviderAware), submitting a provider
operation under an id derived from the stage attempt, and reading the infrastructure cache."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import TaskResult, TaskRun
from gennaker.errors import InvalidInput
from gennaker.model.moniker import cluster_name, parse_name
from gennaker.providers.operations import SUCCEEDED, OperationRecord, operation_id
from gennaker.providers.protocol import (
    CLOUD_WAITS,
    SERVER_GROUPS,
    CloudProvider,
    OperationRequest,
    ProviderWaits,
)
from gennaker.stages._common import attempt_key, failed
from gennaker.stages.cloud.port import CloudDriverPort, HasCloudDriver


class BadStage(Exception):
    """The stage context cannot be acted on; the message names the field."""


def clouddriver(run: TaskRun) -> CloudDriverPort:
    """The providers, through the cloud port the composition root wires (the engine's narrow
    EngineServices does not name them: the engine knows nothing of providers)."""
    services = run.services
    if not isinstance(services, HasCloudDriver):
        raise BadStage("this Gennaker process has no cloud providers (its services carry no cloud port)")
    return services.clouddriver


def waits_of(provider: CloudProvider) -> ProviderWaits:
    """How stages wait on this provider (Orca's fixed waits unless the provider says otherwise)."""
    waits = getattr(provider, "waits", None)  # plugins written before ProviderWaits existed
    return waits if isinstance(waits, ProviderWaits) else CLOUD_WAITS


def account_of(ctx: Mapping[str, Any]) -> str | None:
    """``account.name``, else ``account``, else ``credentials`` (Orca's getCredentials); both
    given and different is an error."""
    account = ctx.get("account")
    if isinstance(account, Mapping):
        account = account.get("name")
    credentials = ctx.get("credentials")
    if account and credentials and account != credentials:
        raise BadStage(f"account ({account!r}) and credentials ({credentials!r}) name different accounts")
    value = account or credentials or ctx.get("accountName")
    return str(value) if value else None


def provider_of(run: TaskRun, ctx: Mapping[str, Any] | None = None) -> tuple[CloudProvider, str]:
    """The provider and account a stage acts on (its cloudProvider, else its account's provider;
    the provider's first account when no account is named)."""
    ctx = run.context if ctx is None else ctx
    account = account_of(ctx)
    cloud = ctx.get("cloudProvider") or ctx.get("cloudProviderType") or ctx.get("providerType")
    try:
        provider = clouddriver(run).registry.provider_for(str(cloud) if cloud else None, account)
    except InvalidInput as exc:
        raise BadStage(exc.message) from None
    if account is None:
        accounts = provider.accounts()
        if not accounts:
            raise BadStage(f"cloud provider {provider.id} has no accounts")
        account = accounts[0].name
    return provider, account


def regions_of(ctx: Mapping[str, Any]) -> list[str]:
    """``region``, else ``regions``, else ``zone(s)``/``namespace(s)``, else availabilityZones' keys."""
    if ctx.get("region"):
        return [str(ctx["region"])]
    for key in ("regions", "zones", "namespaces"):
        if isinstance(ctx.get(key), list) and ctx[key]:
            return [str(r) for r in ctx[key]]
    for key in ("zone", "namespace"):
        if ctx.get(key):
            return [str(ctx[key])]
    zones = ctx.get("availabilityZones")
    if isinstance(zones, Mapping) and zones:
        return [str(k) for k in zones]
    return []


def region_of(
    run: TaskRun, provider: CloudProvider, account: str, ctx: Mapping[str, Any] | None = None
) -> str:
    """The one region of a stage (the account's first when none is given)."""
    regions = regions_of(run.context if ctx is None else ctx)
    if regions:
        return regions[0]
    found = next((a for a in provider.accounts() if a.name == account), None)
    return found.regions[0] if found and found.regions else "local"


def cluster_of(ctx: Mapping[str, Any]) -> str | None:
    """``moniker.cluster``, else ``cluster``/``clusterName``, else built from application/stack/detail."""
    moniker = ctx.get("moniker")
    if isinstance(moniker, Mapping) and moniker.get("cluster"):
        return str(moniker["cluster"])
    for key in ("cluster", "clusterName"):
        if isinstance(ctx.get(key), str) and ctx[key]:
            return str(ctx[key])
    name = ctx.get("serverGroupName") or ctx.get("asgName")
    if name:
        return parse_name(str(name)).cluster
    app = ctx.get("application") or (moniker.get("app") if isinstance(moniker, Mapping) else None)
    if app:
        return cluster_name(str(app), ctx.get("stack") or None, ctx.get("freeFormDetails") or None)
    return None


def _replace_task(tasks: Any, entry: dict[str, Any]) -> list[dict[str, Any]]:
    kept = [dict(t) for t in (tasks or []) if isinstance(t, Mapping) and t.get("id") != entry["id"]]
    return [*kept, entry]


def submission_id(run: TaskRun, name: str, *, index: int = 0, key: str | None = None) -> str:
    """The operation id ``submit`` uses for this stage attempt, operation and key."""
    attempt = attempt_key(run.execution, run.stage)
    return operation_id(f"{attempt}-{key}" if key else attempt, name, index)


def submitted(run: TaskRun, name: str, *, key: str) -> bool:
    """Whether this stage attempt already recorded the operation on ``key`` (a re-run after a
    crash must finish what the first run started, even if the target no longer looks eligible)."""
    return clouddriver(run).operations.get(submission_id(run, name, key=key)) is not None


async def submit(
    run: TaskRun,
    provider: CloudProvider,
    account: str,
    name: str,
    description: Mapping[str, Any],
    *,
    index: int = 0,
    key: str | None = None,
) -> tuple[OperationRecord, dict[str, Any]]:
    """Run one provider operation under an id of this stage attempt (and of ``key``, the thing it
    acts on, when a task runs several); (its record, the context to merge: ``kato.last.task.id``,
    ``kato.tasks``, ``deploy.account.name``)."""
    op_id = submission_id(run, name, index=index, key=key)
    request = OperationRequest(op_id, name, description, account, run.execution.application)
    record = await clouddriver(run).operations.submit(provider, request)
    context = {
        "kato.last.task.id": {"id": record.id},
        "kato.tasks": _replace_task(run.stage.context.get("kato.tasks"), record.to_json()),
        "deploy.account.name": account,
    }
    return record, context


def outcome(
    record: OperationRecord, context: Mapping[str, Any], extra: Mapping[str, Any] | None = None
) -> TaskResult:
    """SUCCEEDED with the context, or TERMINAL with the operation's message."""
    if record.status == SUCCEEDED:
        return TaskResult.succeeded({**context, **(extra or {})})
    return failed(record.error or f"{record.operation} failed", context)


def cached_server_groups(
    run: TaskRun,
    provider: CloudProvider,
    account: str,
    *,
    cluster: str | None = None,
    region: str | None = None,
) -> list[dict[str, Any]]:
    """Server groups of the account from the cache (optionally of one cluster and region)."""
    groups = clouddriver(run).cache.query(
        SERVER_GROUPS, account=account, region=region, cloud_provider=provider.id
    )
    return [g for g in groups if cluster is None or g.get("cluster") == cluster]


async def fresh_server_groups(
    run: TaskRun,
    provider: CloudProvider,
    account: str,
    *,
    cluster: str | None = None,
    region: str | None = None,
) -> list[dict[str, Any]]:
    """As cached_server_groups, after refreshing the account's cache (Orca's forceCacheRefresh)."""
    await clouddriver(run).cache.refresh(provider, account)
    return cached_server_groups(run, provider, account, cluster=cluster, region=region)


def deploy_server_groups(region: str, names: list[str]) -> dict[str, list[str]]:
    """Orca's ``deploy.server.groups``: names by region."""
    return {region: list(names)}
