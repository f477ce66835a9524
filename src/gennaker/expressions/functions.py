"""Helper functions (``#name(args)``), following Orca's and kork's function providers.

Functions that take the execution in Spinnaker get it here from the evaluation context; users
never pass it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from gennaker.expressions import readers
from gennaker.expressions.context import StageView
from gennaker.expressions.deployments import (
    deployed_server_groups,
    manifest_label_value,
    resolved_artifact,
    resolved_artifacts,
)
from gennaker.expressions.errors import ExpressionError, LimitExceeded, helper_error
from gennaker.expressions.helper_support import check_arity, execution_of, matches_id, stages_of, text_param
from gennaker.expressions.jlang import INT_RANGE, parse_java_double, parse_java_int
from gennaker.expressions.limits import Env
from gennaker.expressions.objects import NotEvaluable

Helper = Callable[[Env, list[Any]], Any]


def stage(env: Env, args: list[Any]) -> StageView:
    """``#stage(nameOrId)``: the first stage whose name or id equals the argument."""
    check_arity("stage", args, 1)
    ident = text_param(args[0])
    for candidate in stages_of(env, "stage"):
        if matches_id(candidate, ident):
            return StageView(candidate)
    execution_id = execution_of(env, "stage").get("id")
    raise helper_error(f"Unable to locate [{ident}] using #stage({ident}) in execution {execution_id}")


def stage_by_ref_id(env: Env, args: list[Any]) -> StageView:
    """``#stageByRefId(refId)``."""
    check_arity("stageByRefId", args, 1)
    ref_id = text_param(args[0])
    execution_id = execution_of(env, "stageByRefId").get("id")
    if ref_id is None:
        raise helper_error(f"Stage refId must not be null in #stageByRefId in execution {execution_id}")
    for candidate in stages_of(env, "stageByRefId"):
        if candidate.get("refId") == ref_id:
            return StageView(candidate)
    raise helper_error(
        f"Unable to locate [{ref_id}] using #stageByRefId({ref_id}) in execution {execution_id}"
    )


def stage_exists(env: Env, args: list[Any]) -> bool:
    """``#stageExists(nameOrId)``."""
    check_arity("stageExists", args, 1)
    ident = text_param(args[0])
    return any(matches_id(s, ident) for s in stages_of(env, "stageExists"))


def current_stage(env: Env, args: list[Any]) -> StageView:
    """``#currentStage()``: the stage being evaluated."""
    check_arity("currentStage", args, 0)
    if env.ctx.current_stage is None:
        raise helper_error("An execution context is required for this function")
    return StageView(env.ctx.current_stage)


def current_user(env: Env, args: list[Any]) -> str:
    """``#currentUser()``: the authenticated user, else "anonymous"."""
    check_arity("currentUser", args, 0)
    if env.ctx.user:
        return env.ctx.user
    execution = env.ctx.the_execution()
    auth = execution.get("authentication") if execution is not None else None
    user = auth.get("user") if isinstance(auth, Mapping) else None
    return user if isinstance(user, str) and user else "anonymous"


def judgment(env: Env, args: list[Any]) -> Any:
    """``#judgment(stageName)``: a manual judgment stage's ``judgmentInput``."""
    check_arity("judgment", args, 1)
    name = text_param(args[0])
    for candidate in stages_of(env, "judgment"):
        context = candidate.get("context")
        if (
            name is not None
            and candidate.get("name") == name
            and candidate.get("type") == "manualJudgment"
            and isinstance(context, Mapping)
            and context.get("judgmentInput") is not None
        ):
            return context.get("judgmentInput")
    execution_id = execution_of(env, "judgment").get("id")
    raise helper_error(
        f"Unable to locate manual Judgment stage [{name}] using #judgment({name}) in execution "
        f"{execution_id}. Stage doesn't exist or doesn't contain judgmentInput in its context "
    )


def _lookup(env: Env, function: str, application: str, name: str) -> str | None:
    lookup = env.ctx.pipeline_id_lookup
    if lookup is None:
        raise helper_error(f"front50 service is missing. It's required when using #{function} function")
    try:
        return lookup(application, name)
    except Exception as exc:  # the lookup is the engine's; any failure is this function's failure
        raise helper_error(f"Failed to evaluate #{function} function: {exc}") from exc


def pipeline_id(env: Env, args: list[Any]) -> str:
    """``#pipelineId(name)``: a pipeline config id in the current application."""
    check_arity("pipelineId", args, 1)
    name = text_param(args[0])
    if not name:
        raise helper_error("pipelineName must be specified for function #pipelineId")
    application = str(execution_of(env, "pipelineId").get("application"))
    found = _lookup(env, "pipelineId", application, name)
    if found is None:
        raise helper_error(f"Pipeline with name '{name}' could not be found on application {application}")
    return found


def pipeline_id_or_null(env: Env, args: list[Any]) -> str | None:
    """``#pipelineIdOrNull(name)``."""
    try:
        return pipeline_id(env, args)
    except ExpressionError as exc:
        if exc.message.startswith("Pipeline with name "):
            return None
        raise


def pipeline_id_in_application(env: Env, args: list[Any]) -> str | None:
    """``#pipelineIdInApplication(name, application)``: null when absent."""
    check_arity("pipelineIdInApplication", args, 2)
    name, application = text_param(args[0]), text_param(args[1])
    if not application:
        raise helper_error("applicationName must be specified for function #pipelineIdInApplication")
    return _lookup(env, "pipelineIdInApplication", application, name or "")


def from_url(env: Env, args: list[Any]) -> str:
    """``#fromUrl(url)``: a GET through the outbound policy, within size and time limits."""
    return fetch_url(env, "fromUrl", args)


def fetch_url(env: Env, name: str, args: list[Any]) -> str:
    """The body of the URL in ``args`` for the helper ``#name``. The fetch counts against the
    evaluation's time limit: it may take the smaller of ``url_timeout_seconds`` and what is left."""
    check_arity(name, args, 1)
    url = text_param(args[0])
    fetcher = env.ctx.url_fetcher
    if fetcher is None:
        raise helper_error(f"#{name}({url}) failed: URL functions are not configured")
    if url is None:
        raise helper_error(f"#{name}(null) failed: a URL is needed")
    remaining = env.remaining_seconds()
    if remaining <= 0:
        raise LimitExceeded(f"expression ran longer than {env.limits.max_seconds} seconds")
    timeout = min(env.limits.url_timeout_seconds, remaining)
    try:
        text = fetcher(url, timeout_s=timeout, max_bytes=env.limits.url_max_bytes)
    except Exception as exc:  # the fetcher reports policy refusals and network errors alike
        if timeout < env.limits.url_timeout_seconds:
            env.check_time()  # cut short by the evaluation's limit: say that, not "timed out"
        raise helper_error(f"#{name}({url}) failed: {exc}") from exc
    return env.new_str(text)


def _to_int(env: Env, args: list[Any]) -> int:
    check_arity("toInt", args, 1)
    return parse_java_int(text_param(args[0]), 10, INT_RANGE)


def _to_float(env: Env, args: list[Any]) -> float:
    check_arity("toFloat", args, 1)
    return parse_java_double(text_param(args[0]))


def _to_boolean(env: Env, args: list[Any]) -> bool:
    check_arity("toBoolean", args, 1)
    text = text_param(args[0])
    return text is not None and text.lower() == "true"


def _to_base64(env: Env, args: list[Any]) -> str:
    check_arity("toBase64", args, 1)
    text = text_param(args[0])
    if text is None:
        raise ExpressionError("#toBase64(null)", "java.lang.NullPointerException")
    return env.new_str(base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii"))


def _from_base64(env: Env, args: list[Any]) -> str:
    check_arity("fromBase64", args, 1)
    text = text_param(args[0])
    if text is None:
        raise ExpressionError("#fromBase64(null)", "java.lang.NullPointerException")
    return readers.decode_base64(text).decode("utf-8", "replace")


def _alphanumerical(env: Env, args: list[Any]) -> str:
    check_arity("alphanumerical", args, 1)
    text = text_param(args[0])
    if text is None:
        raise ExpressionError("#alphanumerical(null)", "java.lang.NullPointerException")
    return re.sub(r"[^A-Za-z0-9]", "", text)


def _one(name: str, fn: Callable[[Env, Any], Any]) -> Helper:
    def helper(env: Env, args: list[Any]) -> Any:
        check_arity(name, args, 1)
        return fn(
            env, args[0] if isinstance(args[0], NotEvaluable) or name == "toJson" else text_param(args[0])
        )

    return helper


def _url_then(name: str, parse: Callable[[Env, Any], Any]) -> Helper:
    def helper(env: Env, args: list[Any]) -> Any:
        return parse(env, fetch_url(env, name, args))

    return helper


def _do_not_eval(env: Env, args: list[Any]) -> NotEvaluable:
    check_arity("doNotEval", args, 1)
    return NotEvaluable(args[0])


BUILTINS: Mapping[str, Helper] = MappingProxyType(
    {
        "stage": stage,
        "stageByRefId": stage_by_ref_id,
        "stageExists": stage_exists,
        "currentStage": current_stage,
        "currentUser": current_user,
        "judgment": judgment,
        "judgement": judgment,
        "deployedServerGroups": deployed_server_groups,
        "manifestLabelValue": manifest_label_value,
        "triggerResolvedArtifact": lambda env, args: resolved_artifact(
            env, "triggerResolvedArtifact", args, "name"
        ),
        "triggerResolvedArtifactByType": lambda env, args: resolved_artifact(
            env, "triggerResolvedArtifactByType", args, "type"
        ),
        "resolvedArtifacts": resolved_artifacts,
        "pipelineId": pipeline_id,
        "pipelineIdOrNull": pipeline_id_or_null,
        "pipelineIdInApplication": pipeline_id_in_application,
        "fromUrl": from_url,
        "jsonFromUrl": _url_then("jsonFromUrl", readers.read_json),
        "yamlFromUrl": _url_then("yamlFromUrl", readers.read_yaml),
        "propertiesFromUrl": _url_then("propertiesFromUrl", readers.read_properties),
        "readJson": _one("readJson", readers.read_json),
        "readYaml": _one("readYaml", readers.read_yaml),
        "readAllYaml": _one("readAllYaml", readers.read_all_yaml),
        "readProperties": _one("readProperties", readers.read_properties),
        "toJson": _one("toJson", readers.to_json),
        "toInt": _to_int,
        "toFloat": _to_float,
        "toBoolean": _to_boolean,
        "toBase64": _to_base64,
        "fromBase64": _from_base64,
        "alphanumerical": _alphanumerical,
        "doNotEval": _do_not_eval,
    }
)


def call_function(env: Env, name: str, args: list[Any]) -> Any:
    """``#name(args)``: a built-in helper, else one of the context's extra functions."""
    helper = BUILTINS.get(name)
    if helper is not None:
        return helper(env, args)
    extra = env.ctx.extra_functions.get(name)
    if extra is not None:
        try:
            return extra(env.ctx, args)
        except ExpressionError:
            raise
        except Exception as exc:  # a plugin's function failing is that expression's failure
            raise helper_error(f"#{name} failed: {exc}") from exc
    raise ExpressionError(f"EL1017E: Function '{name}' could not be found")
