"""The entry points the engine, stages and the API call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gennaker.expressions.context import EvaluationContext, RootMapping
from gennaker.expressions.summary import SUMMARY_KEY, EvaluationSummary, SummaryBuilder, merge_summary
from gennaker.expressions.templates import Walker


@dataclass(frozen=True)
class EvaluationResult:
    """A value (the original text when evaluation failed) and what went wrong, if anything."""

    value: Any
    summary: EvaluationSummary


def _builder(ctx: EvaluationContext) -> SummaryBuilder:
    return SummaryBuilder(ctx.clock.now_ms)


def evaluate(
    text: str, root: Mapping[str, Any], *, field: str | None = None, **opts: Any
) -> EvaluationResult:
    """Evaluate one template string against ``root``.

    ``opts`` are ``EvaluationContext`` fields (``execution``, ``allow_unknown_keys``, ``limits`` ...).
    ``field`` names the key the text came from, for the summary's descriptions.
    """
    return evaluate_in(text, EvaluationContext(root=root, **opts), field=field)


def evaluate_in(text: str, ctx: EvaluationContext, *, field: str | None = None) -> EvaluationResult:
    """``evaluate`` with a ready context."""
    builder = _builder(ctx)
    if "${" not in text:
        return EvaluationResult(text, builder.freeze())
    value = Walker(ctx, builder).string(text, {field: text} if field is not None else None)
    return EvaluationResult(value, builder.freeze())


def evaluate_object(obj: Any, ctx: EvaluationContext) -> tuple[Any, EvaluationSummary]:
    """Evaluate every ``${...}`` in a JSON-like object (map keys and values, list elements).

    Returns a new object (plain dicts and lists) and the pass's summary.
    """
    builder = _builder(ctx)
    result = Walker(ctx, builder).walk(obj)
    return result, builder.freeze()


def evaluate_stage_context(
    context: Mapping[str, Any], ctx: EvaluationContext
) -> tuple[dict[str, Any], EvaluationSummary]:
    """The stage-time pass: evaluate a stage context and merge the pass's summary into its
    ``expressionEvaluationSummary`` (stale entries dropped, key removed when empty)."""
    builder = _builder(ctx)
    walker = Walker(ctx, builder)
    source = {k: v for k, v in context.items() if k != SUMMARY_KEY}
    result: dict[str, Any] = walker.walk(source)
    summary = builder.freeze()
    existing = context.get(SUMMARY_KEY)
    merged = merge_summary(existing if isinstance(existing, Mapping) else None, summary)
    if merged:
        result[SUMMARY_KEY] = merged
    return result, summary


def evaluate_condition(text: Any, ctx: EvaluationContext) -> EvaluationResult:
    """Evaluate a condition written without ``${}`` (``stageEnabled.expression``, a precondition).

    Spinnaker wraps the text in ``${...}``; text that already contains ``${`` is evaluated as a
    template instead. The raw result is returned: pass it to ``condition_true``.
    """
    if not isinstance(text, str):
        return EvaluationResult(text, _builder(ctx).freeze())
    template = text if "${" in text else "${" + text + "}"
    return evaluate_in(template, ctx, field="expression")


def condition_true(value: Any) -> bool:
    """Spinnaker's rule for stageEnabled and preconditions: only boolean true or the string
    "true" (any case) count as true; anything else, failures included, is false."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def spel_version(value: Any) -> str:
    """A pipeline's ``spelEvaluator`` as "v3" or "v4" (v3 when absent or unknown)."""
    return "v4" if isinstance(value, str) and value.lower() == "v4" else "v3"


def evaluate_pipeline_config(
    config: Mapping[str, Any], ctx: EvaluationContext
) -> tuple[dict[str, Any], EvaluationSummary]:
    """The pipeline-start pass over a pipeline config.

    Build ``ctx`` with ``root=pipeline_start_root(trigger, templateVariables)`` and
    ``allow_unknown_keys=False``. Under v4 the ``stages`` are left for stage time, untouched.
    """
    v4 = spel_version(config.get("spelEvaluator")) == "v4"
    source = {k: v for k, v in config.items() if not (v4 and k == "stages")}
    result, summary = evaluate_object(source, ctx)
    if v4 and "stages" in config:
        result["stages"] = config["stages"]
    if summary.has_failures:
        result[SUMMARY_KEY] = summary.to_json()
    return result, summary


def evaluate_variables(
    variables: Sequence[Mapping[str, Any]], ctx: EvaluationContext, *, sequential: bool
) -> tuple[list[Any], EvaluationSummary]:
    """The evaluateVariables stage's ``variables`` list (``[{key, value, description?}]``).

    v3 (``sequential=False``): evaluated together, like any context value. v4 (``sequential=True``):
    in order, variable n seeing the successfully evaluated variables 1..n-1 as root keys; each
    string value keeps its source as ``sourceValue`` (with ``${`` written ``{``), as Orca does.
    """
    if not sequential:
        result, summary = evaluate_object(list(variables), ctx)
        return result, summary
    builder = _builder(ctx)
    seen: dict[str, Any] = {}
    out: list[Any] = []
    for variable in variables:
        if not isinstance(variable, Mapping):
            out.append(variable)
            continue
        item = dict(variable)
        value = item.get("value")
        if isinstance(value, str):
            if item.get("sourceValue") is None:
                item["sourceValue"] = value.replace("${", "{")
            root = RootMapping(ctx.root, seen) if seen else ctx.root
            walker = Walker(ctx.with_root(root) if seen else ctx, builder)
            before = builder.failure_count
            source = {"var": value, "description": item.get("description")}
            evaluated = walker.walk(source)
            if builder.failure_count == before:
                item["value"] = evaluated["var"]
                if evaluated.get("description") is not None:
                    item["description"] = evaluated["description"]
                if isinstance(item.get("key"), str):
                    seen[item["key"]] = item["value"]
        out.append(item)
    return out, builder.freeze()
