"""Spinnaker's ``${...}`` expression language (its SpEL dialect), evaluated safely in Python.

Typical use by the engine::

    root = build_root(stage_context, execution=execution_json)
    ctx = EvaluationContext(root=root, execution=execution_json, current_stage=stage_json)
    new_context, summary = evaluate_stage_context(stage_context, ctx)
"""

from gennaker.expressions.api import (
    EvaluationResult,
    condition_true,
    evaluate,
    evaluate_condition,
    evaluate_in,
    evaluate_object,
    evaluate_pipeline_config,
    evaluate_stage_context,
    evaluate_variables,
    spel_version,
)
from gennaker.expressions.compiler import CompiledExpression, compile_expression
from gennaker.expressions.context import (
    BeanView,
    EvaluationContext,
    HelperFunction,
    PipelineIdLookup,
    StageView,
    TaskView,
    UrlFetcher,
    bean_key,
    build_root,
    pipeline_start_root,
)
from gennaker.expressions.errors import ExpressionError, ExpressionSyntaxError, LimitExceeded
from gennaker.expressions.limits import DEFAULT_LIMITS, Limits
from gennaker.expressions.summary import (
    SUMMARY_KEY,
    EvaluationSummary,
    fail_on_failed_expressions,
    merge_exception_errors,
    merge_summary,
    summary_errors,
)
from gennaker.expressions.templates import Template, compile_template

__all__ = [
    "BeanView",
    "DEFAULT_LIMITS",
    "SUMMARY_KEY",
    "CompiledExpression",
    "EvaluationContext",
    "EvaluationResult",
    "EvaluationSummary",
    "ExpressionError",
    "ExpressionSyntaxError",
    "HelperFunction",
    "LimitExceeded",
    "Limits",
    "PipelineIdLookup",
    "StageView",
    "TaskView",
    "Template",
    "UrlFetcher",
    "bean_key",
    "build_root",
    "compile_expression",
    "compile_template",
    "condition_true",
    "evaluate",
    "evaluate_condition",
    "evaluate_in",
    "evaluate_object",
    "evaluate_pipeline_config",
    "evaluate_stage_context",
    "evaluate_variables",
    "fail_on_failed_expressions",
    "merge_exception_errors",
    "merge_summary",
    "pipeline_start_root",
    "spel_version",
    "summary_errors",
]
