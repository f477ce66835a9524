"""Kayenta's REST API at Kayenta's paths (``/canaryConfig``, ``/canary``, ``/judges``,
``/metricSetPairList``, ``/metadata/metricsService``, ``/metricsServices``,
``/standalone_canary_analysis``), and all of it again under ``/kayenta`` for clients configured with a
Kayenta base URL (Argo Rollouts' Kayenta provider, scripts).

Kayenta's ``GET /credentials`` is served only under ``/kayenta``: at the root, ``/credentials`` is
Gate's list of cloud accounts. Deck reads the metrics accounts through Gate's
``/v2/canaries/credentials`` (gennaker.api.routes.canaries).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from gennaker.api.deps import ServicesDep, csv
from gennaker.api.models import ERRORS
from gennaker.api.permissions import readable
from gennaker.canary import api
from gennaker.canary import standalone as analyses
from gennaker.canary.runner import RunOptions

AnyBody = Annotated[Any, Body()]
OptStr = Annotated[str | None, Query()]


def options(
    application: str | None = None,
    parent: str | None = None,
    metrics: str | None = None,
    configuration: str | None = None,
    storage: str | None = None,
) -> RunOptions:
    """The account and origin parameters of a run."""
    return RunOptions(application, parent, metrics, configuration, storage)


def _build(with_credentials: bool) -> APIRouter:
    router = APIRouter(tags=["canary (Kayenta)"], responses=ERRORS)

    @router.get("/canaryConfig")
    def list_configs(
        services: ServicesDep,
        application: Annotated[list[str] | None, Query()] = None,
        configurationAccountName: OptStr = None,
    ) -> Any:
        """Canary configs (id, name, updated time, applications), optionally of some applications."""
        apps = [a for value in application or [] for a in (csv(value) or [])]
        return api.list_configs(services, apps or None)

    @router.get("/canaryConfig/{config_id}")
    def get_config(config_id: str, services: ServicesDep, configurationAccountName: OptStr = None) -> Any:
        """One canary config."""
        return api.get_config(services, config_id)

    @router.post("/canaryConfig")
    def create_config(body: AnyBody, services: ServicesDep, configurationAccountName: OptStr = None) -> Any:
        """Store a canary config: ``{canaryConfigId}``; 400 with JSON paths when it is invalid."""
        return api.create_config(services, body)

    @router.put("/canaryConfig/{config_id}")
    def update_config(
        config_id: str, body: AnyBody, services: ServicesDep, configurationAccountName: OptStr = None
    ) -> Any:
        """Replace a canary config."""
        return api.update_config(services, config_id, body)

    @router.delete("/canaryConfig/{config_id}", status_code=204, response_model=None)
    def delete_config(config_id: str, services: ServicesDep, configurationAccountName: OptStr = None) -> Any:
        """Delete a canary config."""
        api.delete_config(services, config_id)
        return Response(status_code=204)

    @router.get("/judges")
    def judges() -> Any:
        """The judges (NetflixACAJudge-v1.0)."""
        return api.judges()

    @router.post("/judges/judge")
    def judge(
        services: ServicesDep,
        canaryConfigId: Annotated[str, Query()],
        metricSetPairListId: Annotated[str, Query()],
        passThreshold: Annotated[float, Query(ge=0, le=100)],
        marginalThreshold: Annotated[float, Query(ge=0, le=100)],
        configurationAccountName: OptStr = None,
        storageAccountName: OptStr = None,
    ) -> Any:
        """Judge stored pairs with a stored config, without fetching."""
        return api.judge_stored(
            services, canaryConfigId, metricSetPairListId, passThreshold, marginalThreshold
        )

    @router.get("/metricSetPairList")
    def pair_lists(services: ServicesDep, storageAccountName: OptStr = None) -> Any:
        """Stored pair lists."""
        return api.pair_lists(services)

    @router.post("/metricSetPairList")
    def store_pair_list(body: AnyBody, services: ServicesDep, storageAccountName: OptStr = None) -> Any:
        """Store pairs (null is a missing point): ``{metricSetPairListId}``."""
        return api.store_pair_list(services, body)

    @router.get("/metricSetPairList/{list_id}")
    def pair_list(list_id: str, services: ServicesDep, storageAccountName: OptStr = None) -> Any:
        """One pair list: the judge's input, both series of every metric."""
        return api.pair_list(services, list_id)

    @router.get("/metricSetPairList/{list_id}/{pair_id}")
    def one_pair(list_id: str, pair_id: str, services: ServicesDep, storageAccountName: OptStr = None) -> Any:
        """One pair of a list."""
        return api.one_pair(services, list_id, pair_id)

    @router.delete("/metricSetPairList/{list_id}", status_code=204, response_model=None)
    def delete_pair_list(list_id: str, services: ServicesDep, storageAccountName: OptStr = None) -> Any:
        """Delete a pair list."""
        api.delete_pair_list(services, list_id)
        return Response(status_code=204)

    @router.get("/canary/executions")
    def executions(
        request: Request,
        services: ServicesDep,
        application: OptStr = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 20,
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        statuses: OptStr = None,
        storageAccountName: OptStr = None,
    ) -> Any:
        """Canary runs, newest first (of applications the caller may READ)."""
        found = api.canary_executions(services, application, limit, page, csv(statuses))
        may_read = readable(request, services)
        return [run for run in found if not isinstance(run, dict) or may_read(run.get("application"))]

    @router.post("/canary/{config_id}")
    async def start(
        config_id: str,
        body: AnyBody,
        services: ServicesDep,
        application: OptStr = None,
        parentPipelineExecutionId: OptStr = None,
        metricsAccountName: OptStr = None,
        configurationAccountName: OptStr = None,
        storageAccountName: OptStr = None,
    ) -> Any:
        """Run a stored config on a CanaryExecutionRequest: ``{canaryExecutionId}``."""
        opts = options(
            application,
            parentPipelineExecutionId,
            metricsAccountName,
            configurationAccountName,
            storageAccountName,
        )
        return await api.start_canary(services, config_id, body, opts)

    @router.post("/canary")
    async def start_adhoc(
        body: AnyBody,
        services: ServicesDep,
        application: OptStr = None,
        parentPipelineExecutionId: OptStr = None,
        metricsAccountName: OptStr = None,
        storageAccountName: OptStr = None,
    ) -> Any:
        """Run an inline ``{canaryConfig, executionRequest}``."""
        opts = options(application, parentPipelineExecutionId, metricsAccountName, None, storageAccountName)
        return await api.start_adhoc_canary(services, body, opts)

    @router.get("/canary/{execution_id}")
    def result(execution_id: str, services: ServicesDep, storageAccountName: OptStr = None) -> Any:
        """A run's CanaryExecutionStatusResponse (result, config, request, pair list id)."""
        return api.canary_result(services, execution_id)

    @router.get("/metricsServices")
    def metrics_services(services: ServicesDep) -> Any:
        """The metrics accounts."""
        return api.metrics_services(services)

    @router.get("/metadata/metricsService")
    async def metadata(
        services: ServicesDep, metricsAccountName: OptStr = None, filter: OptStr = None
    ) -> Any:
        """Metric descriptors of a metrics account, for the config editor."""
        return await api.metadata(services, metricsAccountName, filter)

    @router.post("/standalone_canary_analysis/{config_id}")
    async def standalone_start(
        config_id: str,
        body: AnyBody,
        services: ServicesDep,
        user: OptStr = None,
        application: OptStr = None,
        parentPipelineExecutionId: OptStr = None,
        metricsAccountName: OptStr = None,
        configurationAccountName: OptStr = None,
        storageAccountName: OptStr = None,
    ) -> Any:
        """Start a canary analysis (intervals, lifetime, lookback): ``{canaryAnalysisExecutionId}``."""
        opts = options(
            application,
            parentPipelineExecutionId,
            metricsAccountName,
            configurationAccountName,
            storageAccountName,
        )
        return await run_in_threadpool(analyses.start, services, config_id, None, body, opts, user)

    @router.post("/standalone_canary_analysis")
    async def standalone_adhoc(
        body: AnyBody,
        services: ServicesDep,
        user: OptStr = None,
        application: OptStr = None,
        parentPipelineExecutionId: OptStr = None,
        metricsAccountName: OptStr = None,
        storageAccountName: OptStr = None,
    ) -> Any:
        """Start an analysis of an inline ``{canaryConfig, executionRequest}``."""
        opts = options(application, parentPipelineExecutionId, metricsAccountName, None, storageAccountName)
        return await run_in_threadpool(analyses.start_adhoc, services, body, opts, user)

    @router.get("/standalone_canary_analysis/{execution_id}")
    def standalone_get(execution_id: str, services: ServicesDep, storageAccountName: OptStr = None) -> Any:
        """An analysis: its stage status and, once done, canaryAnalysisExecutionResult."""
        return analyses.status(services, execution_id)

    if with_credentials:

        @router.get("/credentials")
        def credentials(services: ServicesDep) -> Any:
            """Kayenta's accounts: the metrics accounts and the built-in stores."""
            return api.credentials(services)

    return router


router = APIRouter()
router.include_router(_build(with_credentials=False))
router.include_router(_build(with_credentials=True), prefix="/kayenta")
