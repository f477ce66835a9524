"""Where the engine meets the expression language: building the root a stage's expressions see
(§4.2) and evaluating stage contexts, stageEnabled, and the pipeline config at start (§4.5-4.6)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gennaker.engine.context_view import StageContext
from gennaker.model.execution import Execution, Stage

if TYPE_CHECKING:
    from gennaker.services import Services


class StageEvaluator:
    """Evaluates ``${...}`` for the engine."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def evaluate_stage_context(self, execution: Execution, stage: Stage) -> None:
        """Evaluate a top-level stage's context in place at stage start."""

    def stage_enabled(self, execution: Execution, stage: Stage, expression: Any) -> bool:
        """Spinnaker's stageEnabled rule: enabled only when the result is true or "true"."""
        return expression is True or (isinstance(expression, str) and expression.strip().lower() == "true")

    def task_context(self, execution: Execution, stage: Stage) -> Mapping[str, Any]:
        """The context a task sees: evaluated, with ancestor outputs falling through."""
        return StageContext(execution, stage)

    def evaluate_pipeline_config(self, config: dict[str, Any], trigger: Mapping[str, Any]) -> dict[str, Any]:
        """The pipeline-start pass (v3: the whole config; v4: all but stages)."""
        return config

    def evaluate_condition(self, execution: Execution, stage: Stage, text: str) -> Any:
        """A condition written without ``${}`` (a checkPreconditions ``expression``): the raw result,
        to be judged true only when it is true or "true".

        Placeholder until the expression language is connected: returns the text unchanged."""
        return text

    def evaluate_variables(
        self, execution: Execution, stage: Stage, variables: Sequence[Mapping[str, Any]]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The evaluateVariables stage's ``[{key, value, description}]``: (key -> value, the
        expressionEvaluationSummary of failures). v4 evaluates in order, each variable seeing the
        earlier ones as root keys; v3 evaluates them together.

        Placeholder until the expression language is connected: the values unchanged, no summary."""
        values = {str(v["key"]): v.get("value") for v in variables if isinstance(v, Mapping) and v.get("key")}
        return values, {}
