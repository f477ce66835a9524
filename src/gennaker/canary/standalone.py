"""Kayenta's ``/standalone_canary_analysis``: the kayentaCanary stage's logic behind an API. An
analysis is an ORCHESTRATION execution with one kayentaCanary stage, run by the workers like any
other (intervals wait on the clock, not on a thread); its status is read back from that execution in
Kayenta's CanaryAnalysisExecutionStatusResponse shape."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gennaker.canary.configs import validate_thresholds
from gennaker.canary.intervals import CanaryStageError, plan, request_scopes
from gennaker.canary.runner import RunOptions
from gennaker.canary.service import prepare_config
from gennaker.canary.settings import canary_settings
from gennaker.canary.stage import KAYENTA_CANARY, RUN_CANARY, RUN_CANARY_INTERVALS
from gennaker.canary.store import CanaryConfigRepository, CanaryExecutionRepository, iso
from gennaker.errors import FieldError, GennakerError, InvalidInput, NotFound
from gennaker.model.execution import ORCHESTRATION, Execution

if TYPE_CHECKING:
    from gennaker.services import Services

Json = dict[str, Any]
DESCRIPTION = "Standalone canary analysis"


class Disabled(GennakerError):
    """The standalone API is switched off (404, as Kayenta without the module)."""

    status = 404


def _stage_config(request: Any, config_id: str | None, options: RunOptions, path: str) -> Json:
    if not isinstance(request, dict):
        raise InvalidInput("", [FieldError(path, "the execution request must be a JSON object")])
    scopes = request.get("scopes")
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, dict) for s in scopes):
        raise InvalidInput("", [FieldError(f"{path}.scopes", "must list at least one scope")])
    if request.get("thresholds") is None:
        raise InvalidInput("", [FieldError(f"{path}.thresholds", "is required")])
    errors = validate_thresholds(request["thresholds"], f"{path}.thresholds")
    if errors:
        raise InvalidInput("", errors)
    canary_config: Json = {
        "canaryConfigId": config_id,
        "metricsAccountName": options.metrics_account_name,
        "configurationAccountName": options.configuration_account_name,
        "storageAccountName": options.storage_account_name,
        "scopes": [
            {
                "scopeName": s.get("scopeName") or "default",
                "controlScope": s.get("controlScope"),
                "controlLocation": s.get("controlLocation"),
                "experimentScope": s.get("experimentScope"),
                "experimentLocation": s.get("experimentLocation"),
                "startTimeIso": s.get("startTimeIso"),
                "endTimeIso": s.get("endTimeIso") or request.get("endTimeIso"),
                "step": s.get("step", 60),
                "extendedScopeParams": s.get("extendedScopeParams") or {},
            }
            for s in scopes
        ],
        "scoreThresholds": request["thresholds"],
        "beginCanaryAnalysisAfterMins": request.get("beginAfterMins", 0),
        "baselineAnalysisOffsetInMins": scopes[0].get("controlOffsetInMinutes", 0),
        "lookbackMins": request.get("lookbackMins", 0),
        "siteLocal": request.get("siteLocal") or {},
    }
    if request.get("lifetimeDurationMins") is not None:
        canary_config["lifetimeDuration"] = f"PT{request['lifetimeDurationMins']}M"
    if request.get("analysisIntervalMins") is not None:
        canary_config["canaryAnalysisIntervalMins"] = request["analysisIntervalMins"]
    try:
        plan(canary_config, 0)
        request_scopes(canary_config, (0, 0))
    except CanaryStageError as exc:
        raise InvalidInput("", [FieldError(path, str(exc))]) from None
    return canary_config


def _launch(
    services: Services, canary_config: Json, inline: Json | None, options: RunOptions, user: str | None
) -> Json:
    if not canary_settings(services.settings).standalone_canary_analysis_enabled:
        raise Disabled(
            "the standalone canary analysis API is disabled (canary.standalone_canary_analysis_enabled)"
        )
    stage: Json = {"type": KAYENTA_CANARY, "name": "Canary Analysis", "canaryConfig": canary_config}
    if inline is not None:
        stage["canaryConfig"]["inlineCanaryConfig"] = inline
    if options.parent_pipeline_execution_id:
        stage["parentPipelineExecutionId"] = options.parent_pipeline_execution_id
    execution = services.launcher.start_orchestration(
        options.application or "ad-hoc", DESCRIPTION, [stage], user=user, origin="kayenta"
    )
    return {"canaryAnalysisExecutionId": execution.id}


def start(
    services: Services, config_id: str, _unused: Any, request: Any, options: RunOptions, user: str | None
) -> Json:
    """POST /standalone_canary_analysis/{canaryConfigId}."""
    with services.db.read() as conn:
        CanaryConfigRepository().get(conn, config_id)
    return _launch(services, _stage_config(request, config_id, options, "$"), None, options, user)


def start_adhoc(services: Services, body: Any, options: RunOptions, user: str | None) -> Json:
    """POST /standalone_canary_analysis with ``{canaryConfig, executionRequest}``."""
    if not isinstance(body, dict) or body.get("canaryConfig") is None or body.get("executionRequest") is None:
        raise InvalidInput("", [FieldError("$", "must be an object with canaryConfig and executionRequest")])
    raw = body["canaryConfig"]
    if isinstance(raw, dict) and not raw.get("applications"):
        raw = {**raw, "applications": ["ad-hoc"]}
    config = prepare_config(services, raw, path="$.canaryConfig")
    stage_config = _stage_config(body["executionRequest"], config["id"], options, "$.executionRequest")
    return _launch(services, stage_config, config, options, user)


def status(services: Services, execution_id: str) -> Json:
    """GET /standalone_canary_analysis/{id}."""
    with services.db.read() as conn:
        execution = services.executions.find(conn, execution_id)
        if execution is None or execution.type != ORCHESTRATION or execution.name != DESCRIPTION:
            raise NotFound(f"No canary analysis execution with id '{execution_id}'.")
        runs = _runs(execution)
        results = []
        for run in runs:
            canary_id = run.context.get("canaryPipelineExecutionId")
            body = None
            if canary_id:
                try:
                    body = CanaryExecutionRepository().get(conn, "canary", str(canary_id))
                except NotFound:
                    body = None
            results.append(_execution_result(run, body))
    return _status_response(execution, results)


def _parent(execution: Execution) -> Any:
    return next((s for s in execution.stages if s.type == KAYENTA_CANARY and s.parent_stage_id is None), None)


def _runs(execution: Execution) -> list[Any]:
    parent = _parent(execution)
    if parent is None:
        return []
    intervals = next(
        (s for s in execution.stages if s.type == RUN_CANARY_INTERVALS and s.parent_stage_id == parent.id),
        None,
    )
    if intervals is None:
        return []
    runs = [s for s in execution.stages if s.type == RUN_CANARY and s.parent_stage_id == intervals.id]
    return sorted(runs, key=lambda s: int(s.name.rsplit("#", 1)[-1]))


def _execution_result(run: Any, body: Json | None) -> Json:
    scopes = run.context.get("scopes") or {}
    first: dict[str, Any] = next(iter(scopes.values()), {}) if isinstance(scopes, dict) else {}
    experiment = first.get("experimentScope") or {}
    result: Json = {
        "executionId": run.context.get("canaryPipelineExecutionId"),
        "executionStatus": str(run.status),
        "judgementStartTimeIso": experiment.get("start"),
        "judgementEndTimeIso": experiment.get("end"),
        "warnings": list(run.context.get("warnings") or []),
    }
    if body is not None:
        result["result"] = body.get("result")
        result["exception"] = body.get("exception")
        result["metricSetPairListId"] = body.get("metricSetPairListId")
        for key in (
            "buildTimeMillis",
            "buildTimeIso",
            "startTimeMillis",
            "startTimeIso",
            "endTimeMillis",
            "endTimeIso",
        ):
            result[key] = body.get(key)
        for key in ("storageAccountName", "metricsAccountName", "configurationAccountName"):
            result[key] = body.get(key)
    return result


def _status_response(execution: Execution, results: list[Json]) -> Json:
    parent = _parent(execution)
    context = parent.context if parent is not None else {}
    canary_config = context.get("canaryConfig") or {}
    complete = execution.status.is_complete
    limits = canary_config.get("scoreThresholds") or {}
    scores = [
        float(r["result"]["judgeResult"]["score"]["score"])
        for r in results
        if (r.get("result") or {}).get("judgeResult")
    ]
    body: Json = {
        "application": execution.application,
        "user": (execution.authentication or {}).get("user"),
        "parentPipelineExecutionId": (parent.context.get("parentPipelineExecutionId") if parent else None),
        "pipelineId": execution.id,
        "stageStatus": [
            {
                "type": s.type,
                "name": s.name,
                "status": str(s.status).lower(),
                "executionId": s.context.get("canaryPipelineExecutionId"),
            }
            for s in execution.stages
        ],  # fmt: skip
        "complete": complete,
        "executionStatus": str(execution.status),
        "status": str(execution.status).lower(),
        "canaryConfigId": canary_config.get("canaryConfigId"),
        "canaryAnalysisExecutionRequest": canary_config,
        "buildTimeMillis": execution.build_time,
        "buildTimeIso": iso(execution.build_time),
        "startTimeMillis": execution.start_time,
        "startTimeIso": iso(execution.start_time),
        "endTimeMillis": execution.end_time,
        "endTimeIso": iso(execution.end_time),
        "storageAccountName": canary_config.get("storageAccountName"),
        "metricsAccountName": canary_config.get("metricsAccountName"),
        "configurationAccountName": canary_config.get("configurationAccountName"),
    }
    if canary_config.get("inlineCanaryConfig"):
        body["canaryConfig"] = canary_config["inlineCanaryConfig"]
    if complete:
        final = scores[-1] if scores else None
        passing = limits.get("pass")
        marginal = limits.get("marginal")
        body["canaryAnalysisExecutionResult"] = {
            "didPassThresholds": str(execution.status) == "SUCCEEDED",
            "hasWarnings": any(r["warnings"] for r in results),
            "canaryScoreMessage": context.get("canaryScoreMessage"),
            "canaryScores": scores,
            "canaryExecutionResults": results,
        }
        if final is not None and passing is not None and marginal is not None:
            body["canaryAnalysisExecutionResult"]["lastScore"] = final
    return body
