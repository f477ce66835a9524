"""Gate's infrastructure reads (reference §2), served from the infrastructure cache: clusters,
server groups, load balancers, instances (and their console output), images, and the empty
answers for what the local provider does not have (security groups, server group managers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from gennaker.api.deps import ServicesDep, csv
from gennaker.api.models import ERRORS
from gennaker.api.permissions import principal_of, readable, record_application
from gennaker.api.responses import json_response
from gennaker.authz.model import Action
from gennaker.errors import NotFound
from gennaker.providers.views import Infrastructure

router = APIRouter(tags=["infrastructure"], responses=ERRORS)


def _infra(services: Any) -> Infrastructure:
    return Infrastructure(services.clouddriver)


def _may_see_instance(request: Request, services: Any, account: str, record: Any) -> bool:
    who = principal_of(request)
    if who is None:
        return True
    if not services.authz.evaluator.account(who, account, Action.READ).allowed:
        return False
    return readable(request, services)(record_application(record))


@router.get("/applications/{application}/clusters", response_model=dict[str, list[str]])
def clusters(application: str, services: ServicesDep) -> Any:
    """Cluster names by account."""
    return json_response(_infra(services).clusters(application))


@router.get("/applications/{application}/clusters/{account}", response_model=list[dict[str, Any]])
def clusters_in_account(application: str, account: str, services: ServicesDep) -> Any:
    """The application's clusters in one account (names of their server groups and load balancers)."""
    found = _infra(services).clusters_in(application, account)
    if not found:
        raise NotFound(f"No clusters found (application: {application}, account: {account})")
    return json_response(found)


@router.get("/applications/{application}/clusters/{account}/{cluster}", response_model=dict[str, Any])
def cluster(application: str, account: str, cluster: str, services: ServicesDep) -> Any:
    """One cluster with its full server groups (Gate answers ``{}`` when there is none)."""
    return json_response(_infra(services).cluster(application, account, cluster) or {})


@router.get(
    "/applications/{application}/clusters/{account}/{cluster}/{cloud_provider}", response_model=dict[str, Any]
)
def typed_cluster(
    application: str, account: str, cluster: str, cloud_provider: str, services: ServicesDep
) -> Any:
    """One cluster of one provider (what Orca reads); 404 when there is none."""
    found = _infra(services).cluster(application, account, cluster, cloud_provider)
    if found is None:
        raise NotFound(f"Cluster not found (account: {account}, name: {cluster}, type: {cloud_provider})")
    return json_response(found)


@router.get("/applications/{application}/serverGroups", response_model=list[dict[str, Any]])
def server_groups(
    application: str,
    services: ServicesDep,
    expand: Annotated[bool, Query(description="full server groups instead of summaries")] = False,
    cloud_provider: Annotated[str | None, Query(alias="cloudProvider")] = None,
    clusters: Annotated[str | None, Query(description="account:cluster pairs, comma-separated")] = None,
) -> Any:
    """The application's server groups (summaries unless ``expand``)."""
    wanted = csv(clusters) or [] if clusters is not None else None
    return json_response(
        _infra(services).server_groups(
            application, expand=expand, cloud_provider=cloud_provider, clusters=wanted
        )
    )


@router.get(
    "/applications/{application}/serverGroups/{account}/{region}/{name}", response_model=dict[str, Any]
)
def application_server_group(
    application: str, account: str, region: str, name: str, services: ServicesDep
) -> Any:
    """One full server group with ``insightActions`` (Gate answers ``{}`` when there is none)."""
    found = _infra(services).server_group(account, region, name)
    return json_response({**found, "insightActions": []} if found else {})


@router.get("/serverGroups/{account}/{region}/{name}", response_model=dict[str, Any])
def server_group(account: str, region: str, name: str, services: ServicesDep) -> Any:
    """One full server group; 404 when there is none."""
    found = _infra(services).server_group(account, region, name)
    if found is None:
        raise NotFound(f"Server group not found (account: {account}, region: {region}, name: {name})")
    return json_response(found)


@router.get("/applications/{application}/serverGroupManagers", response_model=list[dict[str, Any]])
def server_group_managers(application: str, services: ServicesDep) -> Any:
    """Deployments and the like (Kubernetes), each with the server groups it owns."""
    return json_response(services.clouddriver.cache.query("serverGroupManagers", application=application))


@router.get("/applications/{application}/loadBalancers", response_model=list[dict[str, Any]])
def application_load_balancers(application: str, services: ServicesDep) -> Any:
    """The application's load balancers, by name."""
    return json_response(_infra(services).load_balancers(application))


@router.get("/loadBalancers", response_model=list[dict[str, Any]])
def load_balancers(
    request: Request, services: ServicesDep, provider: Annotated[str | None, Query()] = None
) -> Any:
    """Load balancers by name, account and region (those of applications the caller may READ)."""
    found = _infra(services).load_balancers_by_provider(provider)
    may_read = readable(request, services)
    return json_response([lb for lb in found if may_read(record_application(lb))])


@router.get("/loadBalancers/{account}/{region}/{name}", response_model=list[dict[str, Any]])
def load_balancer(
    account: str,
    region: str,
    name: str,
    services: ServicesDep,
    provider: Annotated[str | None, Query()] = None,
) -> Any:
    """A list with the load balancer's details (``[]`` when there is none, as Gate)."""
    return json_response(
        [{**lb, "insightActions": []} for lb in _infra(services).load_balancer(account, region, name)]
    )


@router.get("/instances/{account}/{region}/{instance_id}", response_model=dict[str, Any])
def instance(account: str, region: str, instance_id: str, request: Request, services: ServicesDep) -> Any:
    """One instance with ``insightActions``; 404 when there is none (or the caller may not READ
    its application or account)."""
    found = _infra(services).instance(account, region, instance_id)
    if found is not None and not _may_see_instance(request, services, account, found):
        found = None
    if found is None:
        raise NotFound(f"Instance not found (account: {account}, region: {region}, id: {instance_id})")
    return json_response({**found, "insightActions": []})


@router.get("/instances/{account}/{region}/{instance_id}/console", response_model=dict[str, Any])
def console(
    account: str,
    region: str,
    instance_id: str,
    request: Request,
    services: ServicesDep,
    provider: Annotated[str | None, Query()] = None,
) -> Any:
    """The instance's output: ``{output: [{name: "stdout", output}, {name: "stderr", output}]}``."""
    if principal_of(request) is not None:
        known = _infra(services).instance(account, region, instance_id)
        if known is None or not _may_see_instance(request, services, account, known):
            raise NotFound(f"Instance not found (account: {account}, region: {region}, id: {instance_id})")
    registry = services.clouddriver.registry
    providers = [registry.get(provider)] if provider and registry.has(provider) else list(registry)
    for candidate in providers:
        found = candidate.console_output(account, region, instance_id)
        if found is not None:
            return json_response(found)
    raise NotFound(f"Instance not found (account: {account}, region: {region}, id: {instance_id})")


@router.get("/images/find", response_model=list[dict[str, Any]])
def find_images(
    services: ServicesDep,
    provider: Annotated[str | None, Query()] = None,
    q: Annotated[str | None, Query(description="image name glob")] = None,
    account: Annotated[str | None, Query()] = None,
    region: Annotated[str | None, Query()] = None,
    count: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> Any:
    """Images whose name matches ``q``, newest first (AWS's shape: ``imageName``, ``amis``)."""
    return json_response(_infra(services).images(provider, q, account, region, count))


@router.get("/securityGroups", response_model=list[dict[str, Any]])
def security_groups(services: ServicesDep, provider: Annotated[str | None, Query()] = None) -> Any:
    """Firewalls do not apply to the local provider: always an empty list."""
    return json_response([])
