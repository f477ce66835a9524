"""Kayenta's REST API over the canary store and runner, shared by the Kayenta-path routes and
Gate's ``/v2/canaryConfig`` and ``/v2/canaries`` routes (gennaker.api.routes.kayenta, .canaries).
Each function takes the Services and plain values and returns Kayenta's JSON."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from gennaker.canary.runner import RunOptions
from gennaker.canary.service import execute, metric_sources, prepare_config
from gennaker.canary.sources.base import MetricSourceError
from gennaker.canary.store import (
    CanaryConfigRepository,
    CanaryExecutionRepository,
    MetricSetPairListRepository,
)
from gennaker.errors import FieldError, GennakerError, InvalidInput, NotFound

if TYPE_CHECKING:
    from gennaker.services import Services

Json = dict[str, Any]


class SourceUnavailable(GennakerError):
    """A metrics account did not answer (502)."""

    status = 502


def list_configs(services: Services, applications: list[str] | None) -> list[Json]:
    """GET /canaryConfig."""
    with services.db.read() as conn:
        return CanaryConfigRepository().list(conn, applications)


def get_config(services: Services, config_id: str) -> Json:
    """GET /canaryConfig/{id}."""
    with services.db.read() as conn:
        return CanaryConfigRepository().get(conn, config_id)


def create_config(services: Services, body: Any) -> Json:
    """POST /canaryConfig: ``{canaryConfigId}``."""
    config = prepare_config(services, body)
    with services.db.transaction() as conn:
        saved = CanaryConfigRepository().create(conn, config, services.clock.now_ms())
    return {"canaryConfigId": saved["id"]}


def update_config(services: Services, config_id: str, body: Any) -> Json:
    """PUT /canaryConfig/{id}: ``{canaryConfigId}``."""
    if isinstance(body, dict) and not body.get("id"):
        body = {**body, "id": config_id}
    config = prepare_config(services, body)
    with services.db.transaction() as conn:
        CanaryConfigRepository().update(conn, config_id, config, services.clock.now_ms())
    return {"canaryConfigId": config_id}


def delete_config(services: Services, config_id: str) -> None:
    """DELETE /canaryConfig/{id}."""
    with services.db.transaction() as conn:
        CanaryConfigRepository().delete(conn, config_id)


def judges() -> list[Json]:
    """GET /judges."""
    from gennaker.canary.judge import JUDGE_NAME  # numpy: loaded when canary analysis is used

    return [{"name": JUDGE_NAME, "visible": True}]


def judge_stored(
    services: Services, config_id: str, pair_list_id: str, pass_threshold: float, marginal_threshold: float
) -> Json:
    """POST /judges/judge: judge stored pairs again, without fetching."""
    with services.db.read() as conn:
        config = CanaryConfigRepository().get(conn, config_id)
        pairs = MetricSetPairListRepository().get(conn, pair_list_id)
    from gennaker.canary.judge import JudgeError, judge

    try:
        return judge(config, pairs, pass_threshold, marginal_threshold)
    except JudgeError as exc:
        raise InvalidInput(str(exc)) from None


def pair_list(services: Services, list_id: str) -> list[Json]:
    """GET /metricSetPairList/{id}."""
    with services.db.read() as conn:
        return MetricSetPairListRepository().get(conn, list_id)


def pair_lists(services: Services) -> list[Json]:
    """GET /metricSetPairList."""
    with services.db.read() as conn:
        return MetricSetPairListRepository().list(conn)


def one_pair(services: Services, list_id: str, pair_id: str) -> Json:
    """GET /metricSetPairList/{id}/{pairId}."""
    for pair in pair_list(services, list_id):
        if pair.get("id") == pair_id:
            return pair
    raise NotFound(f"No metric set pair with id '{pair_id}' in list '{list_id}'.")


def store_pair_list(services: Services, body: Any) -> Json:
    """POST /metricSetPairList: ``{metricSetPairListId}``."""
    if not isinstance(body, list) or not all(isinstance(p, dict) for p in body):
        raise InvalidInput("", [FieldError("$", "must be a list of metric set pairs")])
    errors = []
    for index, pair in enumerate(body):
        if not isinstance(pair.get("name"), str):
            errors.append(FieldError(f"$[{index}].name", "is required"))
        values = pair.get("values")
        if not isinstance(values, dict):
            errors.append(FieldError(f"$[{index}].values", "must hold control and experiment series"))
            continue
        for side in ("control", "experiment"):
            series = values.get(side)
            if not isinstance(series, list) or not all(
                v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) or v == "NaN"
                for v in series
            ):
                errors.append(
                    FieldError(
                        f"$[{index}].values.{side}", "must be a list of numbers (null for a missing point)"
                    )
                )
    if errors:
        raise InvalidInput("", errors)
    list_id = str(uuid.uuid4())
    stored = [{**p, "id": p.get("id") or str(uuid.uuid4())} for p in body]
    with services.db.transaction() as conn:
        MetricSetPairListRepository().save(conn, list_id, stored, services.clock.now_ms())
    return {"metricSetPairListId": list_id}


def delete_pair_list(services: Services, list_id: str) -> None:
    """DELETE /metricSetPairList/{id}."""
    with services.db.transaction() as conn:
        MetricSetPairListRepository().delete(conn, list_id)


async def start_canary(services: Services, config_id: str, request: Any, options: RunOptions) -> Json:
    """POST /canary/{canaryConfigId}: run it and answer ``{canaryExecutionId}`` (the run is complete)."""
    config = await anyio.to_thread.run_sync(get_config, services, config_id)
    body = await execute(services, config, _request(request, "$"), _with_config(options, config_id))
    return {"canaryExecutionId": body["pipelineId"]}


async def start_adhoc_canary(services: Services, body: Any, options: RunOptions) -> Json:
    """POST /canary with ``{canaryConfig, executionRequest}``."""
    if not isinstance(body, dict):
        raise InvalidInput("", [FieldError("$", "must be an object with canaryConfig and executionRequest")])
    if body.get("canaryConfig") is None:
        raise InvalidInput(
            "", [FieldError("$.canaryConfig", "canaryConfig must be provided for ad-hoc requests")]
        )
    if body.get("executionRequest") is None:
        raise InvalidInput(
            "", [FieldError("$.executionRequest", "executionRequest must be provided for ad-hoc requests")]
        )
    raw = body["canaryConfig"]
    if isinstance(raw, dict) and not raw.get("applications"):
        raw = {**raw, "applications": ["ad-hoc"]}
    config = prepare_config(services, raw, path="$.canaryConfig")
    result = await execute(
        services, config, _request(body["executionRequest"], "$.executionRequest"), options
    )
    return {"canaryExecutionId": result["pipelineId"]}


def _request(request: Any, path: str) -> Json:
    if not isinstance(request, dict):
        raise InvalidInput("", [FieldError(path, "the execution request must be a JSON object")])
    return request


def _with_config(options: RunOptions, config_id: str) -> RunOptions:
    return RunOptions(
        application=options.application,
        parent_pipeline_execution_id=options.parent_pipeline_execution_id,
        metrics_account_name=options.metrics_account_name,
        configuration_account_name=options.configuration_account_name,
        storage_account_name=options.storage_account_name,
        config_id=config_id,
    )


def canary_result(services: Services, execution_id: str) -> Json:
    """GET /canary/{id}: the status response."""
    with services.db.read() as conn:
        return CanaryExecutionRepository().get(conn, "canary", execution_id)


def canary_executions(
    services: Services, application: str | None, limit: int, page: int, statuses: list[str] | None
) -> list[Json]:
    """GET /canary/executions."""
    with services.db.read() as conn:
        return CanaryExecutionRepository().list(
            conn, "canary", application, limit=limit, page=page, statuses=statuses
        )


def credentials(services: Services) -> list[Json]:
    """Kayenta's GET /credentials: the metrics accounts, plus the built-in configuration and object
    store (the database) that Deck expects to find."""
    accounts = [source.credentials() for source in metric_sources(services).all()]
    accounts.append(
        {
            "name": "gennaker",
            "supportedTypes": ["CONFIGURATION_STORE", "OBJECT_STORE"],
            "type": "database",
            "locations": [],
            "recommendedLocations": [],
        }
    )
    return accounts


def metrics_services(services: Services) -> list[Json]:
    """GET /metricsServices."""
    return [
        {"name": s.name, "type": s.type, "locations": [], "recommendedLocations": []}
        for s in metric_sources(services).all()
    ]


async def metadata(services: Services, account: str | None, filter_text: str | None) -> list[Json]:
    """GET /metadata/metricsService."""
    source = metric_sources(services).get(account)
    try:
        return await source.metadata(filter_text)
    except MetricSourceError as exc:
        raise SourceUnavailable(str(exc)) from None
