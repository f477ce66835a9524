"""One canary run, as Kayenta's ``/canary`` pipeline does it: per metric fetch the control and the
experiment series (concurrently), pair them, judge the pairs, and keep the pairs and the result
with the request and the config they came from.

A metrics account that fails makes that metric Error with the reason; the run still completes and
is scored by Kayenta's rules (Error counts in no group). A request or config that cannot run at all
(no thresholds, an unknown scope name, a template naming an unbound variable) is InvalidInput.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gennaker.canary.configs import check_template_bindings, validate_thresholds
from gennaker.canary.mixer import mix_metric
from gennaker.canary.sources.base import (
    CanaryScope,
    MetricSet,
    MetricSource,
    MetricSourceError,
    MetricSourceRegistry,
)
from gennaker.canary.store import iso
from gennaker.clock import Clock
from gennaker.errors import FieldError, InvalidInput

Json = dict[str, Any]


@dataclass(frozen=True)
class RunOptions:
    """Where a run comes from (Kayenta's query parameters)."""

    application: str | None = None
    parent_pipeline_execution_id: str | None = None
    metrics_account_name: str | None = None
    configuration_account_name: str | None = None
    storage_account_name: str | None = None
    config_id: str | None = None


def parse_instant(value: Any, where: str) -> int:
    """An ISO-8601 instant (or epoch milliseconds) as epoch milliseconds."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return int(moment.timestamp() * 1000)
    raise InvalidInput(
        "", [FieldError(where, f"must be an ISO-8601 instant like 2025-01-01T00:00:00Z, got {value!r}")]
    )


def _scope(raw: Any, where: str) -> CanaryScope:
    if not isinstance(raw, dict):
        raise InvalidInput("", [FieldError(where, "is required (an object with scope, start, end and step)")])
    scope = raw.get("scope")
    if not isinstance(scope, str):
        raise InvalidInput("", [FieldError(f"{where}.scope", "is required (a string)")])
    step = raw.get("step", 60)
    if isinstance(step, bool) or not isinstance(step, int) or step <= 0:
        raise InvalidInput("", [FieldError(f"{where}.step", "must be a whole number of seconds above 0")])
    start = parse_instant(raw.get("start"), f"{where}.start")
    end = parse_instant(raw.get("end"), f"{where}.end")
    if end <= start:
        raise InvalidInput("", [FieldError(f"{where}.end", "must be after start")])
    extended = raw.get("extendedScopeParams") or {}
    if not isinstance(extended, dict):
        raise InvalidInput("", [FieldError(f"{where}.extendedScopeParams", "must map names to strings")])
    location = raw.get("location")
    return CanaryScope(
        scope,
        str(location) if location else None,
        start,
        end,
        step,
        {str(k): str(v) for k, v in extended.items()},
    )


def check_request(request: Any, path: str = "$") -> Json:
    """A CanaryExecutionRequest's problems as InvalidInput; the request itself when it can run."""
    if not isinstance(request, dict):
        raise InvalidInput("", [FieldError(path, "the execution request must be a JSON object")])
    if request.get("thresholds") is None:
        raise InvalidInput(
            "", [FieldError(f"{path}.thresholds", "Execution request must contain thresholds")]
        )
    errors = validate_thresholds(request["thresholds"], f"{path}.thresholds")
    scopes = request.get("scopes")
    if not isinstance(scopes, dict) or not scopes:
        errors.append(
            FieldError(f"{path}.scopes", "is required (scope names mapped to control and experiment scopes)")
        )
    if errors or not isinstance(scopes, dict):
        raise InvalidInput("", errors)
    for name, pair in scopes.items():
        where = f"{path}.scopes.{name}"
        if not isinstance(pair, dict):
            raise InvalidInput(
                "", [FieldError(where, "must be an object with controlScope and experimentScope")]
            )
        _scope(pair.get("controlScope"), f"{where}.controlScope")
        _scope(pair.get("experimentScope"), f"{where}.experimentScope")
    return request


async def _fetch_side(
    source: MetricSource, config: Json, metric: Json, scope: CanaryScope
) -> list[MetricSet]:
    try:
        sets = await source.fetch(config, metric, scope)
    except MetricSourceError as exc:
        return [
            MetricSet(
                str(metric["name"]),
                {},
                [],
                scope.start_ms,
                scope.end_ms,
                scope.step_s * 1000,
                {"error": str(exc)},
            )
        ]
    return sets or [MetricSet(str(metric["name"]), {}, [], scope.start_ms, scope.end_ms, scope.step_s * 1000)]


async def fetch_pairs(
    registry: MetricSourceRegistry, config: Json, request: Json, options: RunOptions, *, path: str = "$"
) -> list[Json]:
    """Every metric's pairs for the request's scopes."""
    scopes = request["scopes"]
    errors: list[FieldError] = []
    planned: list[tuple[MetricSource, Json, CanaryScope, CanaryScope]] = []
    for index, metric in enumerate(config.get("metrics") or []):
        scope_name = metric.get("scopeName") or "default"
        pair = scopes.get(scope_name)
        if pair is None:
            raise InvalidInput(
                "",
                [
                    FieldError(
                        f"{path}.metrics[{index}].scopeName",
                        f"the execution request has no scope named '{scope_name}'",
                    )
                ],
            )
        control = _scope(pair.get("controlScope"), f"$.scopes.{scope_name}.controlScope")
        experiment = _scope(pair.get("experimentScope"), f"$.scopes.{scope_name}.experimentScope")
        extended = set(control.extended) & set(experiment.extended)
        errors.extend(check_template_bindings(config, extended, path, metric_index=index))
        query = metric.get("query") or {}
        source = registry.get(
            options.metrics_account_name, str(query.get("type") or query.get("serviceType"))
        )
        planned.append((source, metric, control, experiment))
    if errors:
        raise InvalidInput("", errors)
    # Every problem is found before anything is fetched.
    jobs = []
    for source, metric, control, experiment in planned:
        jobs.append(_fetch_side(source, config, metric, control))
        jobs.append(_fetch_side(source, config, metric, experiment))
    fetched = await asyncio.gather(*jobs)
    pairs: list[Json] = []
    for i in range(0, len(fetched), 2):
        pairs.extend(mix_metric(fetched[i], fetched[i + 1]))
    return pairs


def status_response(
    execution_id: str,
    config: Json,
    request: Json,
    options: RunOptions,
    *,
    build_ms: int,
    end_ms: int,
    pair_list_id: str | None,
    result: Json | None,
    exception: Json | None,
) -> Json:
    """Kayenta's CanaryExecutionStatusResponse for a finished run."""
    succeeded = exception is None
    metric_count = len(config.get("metrics") or [])
    stage_status = {"setupContext": "succeeded"}
    for i in range(metric_count):
        stage_status[f"fetchControl{i}"] = "succeeded"
        stage_status[f"fetchExperiment{i}"] = "succeeded"
    stage_status["mixMetrics"] = "succeeded"
    stage_status["canaryJudge"] = "succeeded" if succeeded else "terminal"
    body: Json = {
        "application": options.application,
        "parentPipelineExecutionId": options.parent_pipeline_execution_id,
        "pipelineId": execution_id,
        "stageStatus": stage_status,
        "complete": True,
        "status": "succeeded" if succeeded else "terminal",
    }
    if exception is not None:
        body["exception"] = exception
    if result is not None:
        duration = request_duration_iso(request)
        body["result"] = {"judgeResult": result, **({"canaryDuration": duration} if duration else {})}
    body.update(
        {
            "config": config,
            "canaryConfigId": options.config_id or config.get("id"),
            "canaryExecutionRequest": request,
            "metricSetPairListId": pair_list_id,
            "buildTimeMillis": build_ms,
            "buildTimeIso": iso(build_ms),
            "startTimeMillis": build_ms,
            "startTimeIso": iso(build_ms),
            "endTimeMillis": end_ms,
            "endTimeIso": iso(end_ms),
            "storageAccountName": options.storage_account_name,
            "metricsAccountName": options.metrics_account_name,
            "configurationAccountName": options.configuration_account_name,
        }
    )
    return body


def request_duration_iso(request: Mapping[str, Any]) -> str | None:
    """CanaryExecutionRequest.calculateDuration as an ISO duration (``PT1H``), when all scopes agree."""
    durations = set()
    for pair in (request.get("scopes") or {}).values():
        for side in ("controlScope", "experimentScope"):
            scope = pair.get(side) or {}
            try:
                durations.add(parse_instant(scope.get("end"), "") - parse_instant(scope.get("start"), ""))
            except InvalidInput:
                return None
    if len(durations) != 1:
        return None
    seconds = durations.pop() // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = (
        "PT"
        + (f"{hours}H" if hours else "")
        + (f"{minutes}M" if minutes else "")
        + (f"{secs}S" if secs else "")
    )
    return text if text != "PT" else "PT0S"


async def run_canary(
    registry: MetricSourceRegistry,
    config: Json,
    request: Json,
    options: RunOptions,
    clock: Clock,
    *,
    execution_id: str | None = None,
) -> tuple[Json, list[Json]]:
    """Fetch, pair and judge: the status response and the pairs (the caller stores both)."""
    check_request(request)
    now_ms = clock.now_ms()
    execution_id = execution_id or str(uuid.uuid4())
    pairs = await fetch_pairs(registry, config, request, options)
    thresholds = request["thresholds"]
    exception = None
    result = None
    # The judge brings numpy; it is loaded on the first judgment, not when the server starts.
    from gennaker.canary.judge import JudgeError, judge

    try:
        result = judge(config, pairs, float(thresholds["pass"]), float(thresholds["marginal"]))
    except JudgeError as exc:
        exception = {"exceptionType": "JudgeError", "details": {"error": str(exc), "errors": [str(exc)]}}
    end_ms = clock.now_ms()
    pair_list_id = str(uuid.uuid4())
    body = status_response(
        execution_id,
        config,
        request,
        options,
        build_ms=now_ms,
        end_ms=end_ms,
        pair_list_id=pair_list_id,
        result=result,
        exception=exception,
    )
    return body, pairs
