"""``evaluateVariables``: ``variables: [{key, value, description}]`` become outputs ``key -> value``,
so later stages write ``${key}``.

The evaluator does the work (``StageEvaluator.evaluate_variables``): under ``spelEvaluator: v4``
in order, variable n seeing variables 1..n-1 (the stage-start pass leaves them alone); under v3
they are evaluated together with the rest of the context when the stage starts. Failures go to
``expressionEvaluationSummary`` (with Deck's ``failOnFailedExpressions: true`` they fail the stage).

The source of each value that holds an expression is kept (v4), as Spinnaker does, in
``sourceValue`` with ``${`` written ``{`` (so later evaluation passes leave it alone), and put back
when the stage is restarted. When that form cannot give the exact text back (a value that also holds a literal
``{``), the exact text is kept base64-encoded in ``sourceValueBase64`` as well.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.stages._common import failed

_OPEN = re.compile(r"(?<!\$)\{")
SOURCE = "sourceValue"
SOURCE_EXACT = "sourceValueBase64"


def _restore(source: str) -> str:
    return _OPEN.sub("${", source)


def keep_source(variable: dict[str, Any]) -> dict[str, Any]:
    """The variable with its expression source saved (once), if its value holds an expression."""
    value = variable.get("value")
    if not isinstance(value, str) or "${" not in value or variable.get(SOURCE) is not None:
        return variable
    saved = dict(variable)
    saved[SOURCE] = value.replace("${", "{")
    if _restore(saved[SOURCE]) != value:
        saved[SOURCE_EXACT] = base64.b64encode(value.encode()).decode()
    return saved


def source_of(variable: dict[str, Any]) -> str | None:
    """The expression source saved for a variable, if any."""
    exact = variable.get(SOURCE_EXACT)
    if isinstance(exact, str):
        try:
            return base64.b64decode(exact.encode()).decode()
        except ValueError:
            pass
    source = variable.get(SOURCE)
    return _restore(source) if isinstance(source, str) else None


def _problems(variables: Any) -> list[str]:
    if not isinstance(variables, list):
        return ["variables must be a list of {key, value} objects"]
    problems = []
    for index, variable in enumerate(variables):
        if not isinstance(variable, dict):
            problems.append(f"variables[{index}] must be an object with key and value")
        elif not isinstance(variable.get("key"), str) or not variable["key"].strip():
            problems.append(f"variables[{index}].key is missing")
    return problems


def _merged(variables: list[dict[str, Any]], evaluated: Any) -> list[dict[str, Any]]:
    """The variables with their evaluated values, whether the evaluator answered with the list of
    variables (in order) or with a key -> value map."""
    if isinstance(evaluated, Mapping):
        return [{**v, "value": evaluated[v["key"]]} if v["key"] in evaluated else v for v in variables]
    merged = []
    for index, variable in enumerate(variables):
        item = evaluated[index] if isinstance(evaluated, list) and index < len(evaluated) else None
        merged.append({**variable, **item, "key": variable["key"]} if isinstance(item, Mapping) else variable)
    return merged


class EvaluateVariablesTask(BaseTask):
    """Evaluates the variables and publishes them."""

    # Expressions may call #fromUrl and friends: keep the evaluation out of the transaction.
    pure = False

    async def execute(self, run: TaskRun) -> TaskResult:
        """Evaluate; outputs and context get key -> value, ``variables`` the evaluated list."""
        stored = run.stage.context.get("variables")
        if stored is None:
            stored = []
        problems = _problems(stored)
        if problems:
            return failed(problems[0], errors=problems)
        variables = [keep_source(dict(v)) for v in stored]
        evaluated, summary = run.services.evaluator.evaluate_variables(run.execution, run.stage, variables)
        variables = _merged(variables, evaluated)
        published = {v["key"]: v.get("value") for v in variables}
        context: dict[str, Any] = {**published, "variables": variables}
        if summary:
            context["expressionEvaluationSummary"] = dict(summary)
        return TaskResult.succeeded(context, published)


class EvaluateVariablesStage(BaseStage):
    """Publishes named values for later stages."""

    type = "evaluateVariables"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """One evaluating task; saves the expression sources first (plan time, before evaluation)."""
        variables = stage.context.get("variables")
        if isinstance(variables, list) and not _problems(variables):
            stage.context["variables"] = [keep_source(dict(v)) for v in variables]
        return [TaskSpec("evaluateVariables", "evaluateVariablesTask")]

    def prepare_for_restart(self, stage: Stage) -> None:
        """Put the expressions back, so a restart evaluates them again."""
        variables = stage.context.get("variables")
        if not isinstance(variables, list):
            return
        for variable in variables:
            if not isinstance(variable, dict):
                continue
            source = source_of(variable)
            if source is not None:
                variable["value"] = source


def register(registry: Registry, settings: Any) -> None:
    """Add the evaluateVariables stage type."""
    registry.add_task("evaluateVariablesTask", EvaluateVariablesTask())
    registry.add_stage(EvaluateVariablesStage())
