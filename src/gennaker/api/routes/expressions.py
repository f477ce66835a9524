"""Gate's expression debugging endpoints (§4.4): evaluate a ``${...}`` text against a stored
execution, at execution scope or at one stage's scope, and try an evaluateVariables list.

The answer is ``{result, detail}``: the value (the original text when evaluation failed) and the
``expressionEvaluationSummary`` of what failed (null when nothing did). Nothing is stored.

Evaluation runs in worker threads, at most ``EVALUATIONS_AT_ONCE`` at a time: an expression that
runs into its time limit, or waits on a slow ``#fromUrl``, holds one of those threads and never
the event loop, so the rest of the API (``/health`` included) keeps answering.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Query, Request

from gennaker.api.deps import ServicesDep, csv
from gennaker.api.models import ERRORS
from gennaker.api.responses import json_response
from gennaker.errors import InvalidInput, NotFound
from gennaker.model.execution import Execution, Stage
from gennaker.model.ids import new_ulid
from gennaker.services import Services

router = APIRouter(tags=["expressions"], responses=ERRORS)

#: Evaluations running at once per API process; more wait their turn without blocking anything.
EVALUATIONS_AT_ONCE = 4

ExpressionParam = Annotated[str | None, Query(description="the text to evaluate, e.g. ${trigger.user}")]


def _load(services: Services, execution_id: str) -> Execution:
    with services.db.read() as conn:
        execution = services.executions.find(conn, execution_id)
    if execution is None:
        raise NotFound(f"execution {execution_id} not found")
    return execution


async def _expression(request: Request, query_value: str | None) -> str:
    """The text from ``?expression=``, a text/plain body, or a JSON body (a string or
    ``{"expression": ...}``), as Gate accepts."""
    if query_value is not None:
        return query_value
    body = (await request.body()).decode("utf-8", errors="replace")
    if not body.strip():
        raise InvalidInput("give the expression as ?expression=... or in the request body")
    if "json" in request.headers.get("content-type", ""):
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"the body is not valid JSON: {exc.msg} at position {exc.pos}") from None
        if isinstance(data, dict):
            data = data.get("expression")
        if not isinstance(data, str):
            raise InvalidInput('the JSON body must be a string or {"expression": "..."}')
        return data
    return body


async def _off_loop(request: Request, work: Callable[[], Any]) -> Any:
    """Run ``work`` in a worker thread, within the API's bound on evaluations at once."""
    limiter = getattr(request.app.state, "expression_limiter", None)
    if not isinstance(limiter, anyio.CapacityLimiter):
        limiter = anyio.CapacityLimiter(EVALUATIONS_AT_ONCE)
        request.app.state.expression_limiter = limiter
    return await anyio.to_thread.run_sync(work, limiter=limiter)


async def _answer(
    request: Request, services: Services, execution_id: str, stage_id: str | None, text: str
) -> Any:
    execution = await anyio.to_thread.run_sync(_load, services, execution_id)
    stage = None
    if stage_id is not None:
        stage = execution.stage(stage_id)
        if stage is None:
            raise NotFound(f"execution {execution_id} has no stage {stage_id}")
    result = await _off_loop(request, lambda: services.evaluator.evaluate_text(execution, stage, text))
    failures = result.summary.to_json()
    return json_response({"result": result.value, "detail": failures or None})


@router.get("/pipelines/{execution_id}/evaluateExpression", operation_id="evaluate_for_execution_get")
@router.post("/pipelines/{execution_id}/evaluateExpression", operation_id="evaluate_for_execution_post")
async def evaluate_for_execution(
    execution_id: str, request: Request, services: ServicesDep, expression: ExpressionParam = None
) -> Any:
    """Evaluate against the execution (``execution``, ``trigger``, ``parameters`` in scope)."""
    text = await _expression(request, expression)
    return await _answer(request, services, execution_id, None, text)


@router.get("/pipelines/{execution_id}/{stage_id}/evaluateExpression", operation_id="evaluate_for_stage_get")
@router.post(
    "/pipelines/{execution_id}/{stage_id}/evaluateExpression", operation_id="evaluate_for_stage_post"
)
async def evaluate_for_stage(
    execution_id: str,
    stage_id: str,
    request: Request,
    services: ServicesDep,
    expression: ExpressionParam = None,
) -> Any:
    """Evaluate at one stage's scope: its context, ancestor outputs, and the execution."""
    text = await _expression(request, expression)
    return await _answer(request, services, execution_id, stage_id, text)


@router.post("/pipelines/{execution_id}/evaluateVariables")
async def evaluate_variables(
    execution_id: str,
    request: Request,
    services: ServicesDep,
    requisiteStageRefIds: Annotated[str | None, Query(description="comma-separated refIds")] = None,
    spelVersion: Annotated[str | None, Query(description="v3 or v4")] = None,
) -> Any:
    """Try an evaluateVariables stage's ``[{key, value}]`` as if it ran after the named stages."""
    try:
        variables = json.loads(await request.body() or b"null")
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(variables, list) or not all(isinstance(v, dict) and "key" in v for v in variables):
        raise InvalidInput('the body must be a list of {"key": ..., "value": ...}')
    execution = copy.deepcopy(await anyio.to_thread.run_sync(_load, services, execution_id))
    if spelVersion is not None:
        if spelVersion.lower() not in ("v3", "v4"):
            raise InvalidInput(f"spelVersion must be v3 or v4, not {spelVersion!r}")
        execution.spel_evaluator = spelVersion.lower()
    probe = Stage(
        id=new_ulid(),
        ref_id="__evaluateVariables__",
        type="evaluateVariables",
        name="Evaluate variables",
        context={"variables": variables},
        requisite_stage_ref_ids=csv(requisiteStageRefIds) or [],
    )
    execution.stages.append(probe)
    # As Orca's ExpressionUtils.evaluateVariables: the stage's own evaluation, whose v4 variables
    # carry their sourceValue and evaluated description (null when there is none).
    result, summary = await _off_loop(
        request, lambda: services.evaluator.evaluate_variable_list(execution, probe, variables)
    )
    if execution.spel_evaluator == "v4":
        result = [{**v, "description": v.get("description")} if isinstance(v, dict) else v for v in result]
    return json_response({"result": result, "detail": summary or None})
