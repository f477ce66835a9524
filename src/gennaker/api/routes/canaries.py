"""Gate's canary endpoints, which Deck's canary screens call: ``/v2/canaryConfig`` (configs) and
``/v2/canaries`` (accounts, judges, runs, results, pair lists), over the same logic as Kayenta's paths."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from starlette.responses import Response

from gennaker.api.deps import ServicesDep, csv
from gennaker.api.models import ERRORS
from gennaker.canary import api
from gennaker.canary.runner import RunOptions

router = APIRouter(tags=["canary (Gate)"], responses=ERRORS)
AnyBody = Annotated[Any, Body()]
OptStr = Annotated[str | None, Query()]


@router.get("/v2/canaryConfig")
def list_configs(
    services: ServicesDep, application: OptStr = None, configurationAccountName: OptStr = None
) -> Any:
    """Canary configs, optionally of one application."""
    return api.list_configs(services, csv(application))


@router.get("/v2/canaryConfig/{config_id}")
def get_config(config_id: str, services: ServicesDep, configurationAccountName: OptStr = None) -> Any:
    """One canary config."""
    return api.get_config(services, config_id)


@router.post("/v2/canaryConfig")
def create_config(body: AnyBody, services: ServicesDep, configurationAccountName: OptStr = None) -> Any:
    """Store a canary config: ``{canaryConfigId}``."""
    return api.create_config(services, body)


@router.put("/v2/canaryConfig/{config_id}")
def update_config(
    config_id: str, body: AnyBody, services: ServicesDep, configurationAccountName: OptStr = None
) -> Any:
    """Replace a canary config."""
    return api.update_config(services, config_id, body)


@router.delete("/v2/canaryConfig/{config_id}", status_code=204, response_model=None)
def delete_config(config_id: str, services: ServicesDep, configurationAccountName: OptStr = None) -> Any:
    """Delete a canary config."""
    api.delete_config(services, config_id)
    return Response(status_code=204)


@router.get("/v2/canaries/credentials")
def credentials(services: ServicesDep) -> Any:
    """Kayenta's accounts (metrics accounts and stores)."""
    return api.credentials(services)


@router.get("/v2/canaries/metadata/metricsService")
async def metadata(services: ServicesDep, filter: OptStr = None, metricsAccountName: OptStr = None) -> Any:
    """Metric descriptors of a metrics account."""
    return await api.metadata(services, metricsAccountName, filter)


@router.get("/v2/canaries/judges")
def judges() -> Any:
    """The judges."""
    return api.judges()


@router.post("/v2/canaries/canary/{config_id}")
async def start(
    config_id: str,
    body: AnyBody,
    services: ServicesDep,
    application: OptStr = None,
    parentPipelineExecutionId: OptStr = None,
    metricsAccountName: OptStr = None,
    storageAccountName: OptStr = None,
    configurationAccountName: OptStr = None,
) -> Any:
    """Run a stored config: ``{canaryExecutionId}``."""
    opts = RunOptions(
        application,
        parentPipelineExecutionId,
        metricsAccountName,
        configurationAccountName,
        storageAccountName,
    )
    return await api.start_canary(services, config_id, body, opts)


@router.post("/v2/canaries/canary")
async def start_adhoc(
    body: AnyBody,
    services: ServicesDep,
    application: OptStr = None,
    parentPipelineExecutionId: OptStr = None,
    metricsAccountName: OptStr = None,
    storageAccountName: OptStr = None,
) -> Any:
    """Run an inline config."""
    opts = RunOptions(application, parentPipelineExecutionId, metricsAccountName, None, storageAccountName)
    return await api.start_adhoc_canary(services, body, opts)


@router.get("/v2/canaries/canary/{config_id}/{execution_id}")
def result_with_config(
    config_id: str, execution_id: str, services: ServicesDep, storageAccountName: OptStr = None
) -> Any:
    """A run's status response (the config id is not used, as in Gate)."""
    return api.canary_result(services, execution_id)


@router.get("/v2/canaries/canary/{execution_id}")
def result(execution_id: str, services: ServicesDep, storageAccountName: OptStr = None) -> Any:
    """A run's status response."""
    return api.canary_result(services, execution_id)


@router.get("/v2/canaries/{application}/executions")
def executions(
    application: str,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    statuses: OptStr = None,
    storageAccountName: OptStr = None,
) -> Any:
    """An application's canary runs, newest first."""
    return api.canary_executions(services, application, limit, page, csv(statuses))


@router.get("/v2/canaries/metricSetPairList/{list_id}")
def pair_list(list_id: str, services: ServicesDep, storageAccountName: OptStr = None) -> Any:
    """A run's pairs: both series of every metric."""
    return api.pair_list(services, list_id)
