"""Where the engine meets the expression language: building the root a stage's expressions see
(§4.2) and evaluating stage contexts, stageEnabled, preconditions, evaluateVariables and the pipeline
config at start (§4.5-4.6).

The execution is handed to expressions as a lazy mapping: its stages are turned into JSON only if an
expression reads ``execution.stages`` (or a helper such as ``#stage`` does), so the common case, a
context with a few ``${trigger...}`` or ``${parameters...}``, costs no more than the fields it reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from gennaker import expressions as ex
from gennaker.engine.context_view import StageContext, merged_outputs, stage_json
from gennaker.model.execution import Execution, Stage
from gennaker.outbound import OutboundPolicy, fetcher

if TYPE_CHECKING:
    from gennaker.engine.contracts import EngineServices


#: The helpers that fetch a URL (expressions/functions.py).
_URL_HELPER = re.compile(r"#\s*(?:fromUrl|jsonFromUrl|yamlFromUrl|propertiesFromUrl)\s*\(")


def uses_urls(value: Any) -> bool:
    """Whether any string inside ``value`` calls a URL-fetching helper (``#fromUrl`` and friends)."""
    if isinstance(value, str):
        return "${" in value and _URL_HELPER.search(value) is not None
    if isinstance(value, Mapping):
        return any(uses_urls(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(uses_urls(v) for v in value)
    return False


class UrlInTransaction(Exception):
    """A URL helper was called while a write transaction is open (decision 3: no slow work there)."""


def has_template(value: Any) -> bool:
    """Whether any string inside ``value`` contains ``${`` (nothing to evaluate otherwise)."""
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, Mapping):
        return any(has_template(k) or has_template(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_template(v) for v in value)
    return False


class ExecutionView(Mapping[str, Any]):
    """Spinnaker's execution JSON, computed key by key on first access. It reads as Orca's Java
    objects do: ``execution.Status``, ``execution.stages[0].Status`` and a task's ``.Status``
    find ``status`` (ex.StageView, ex.bean_key)."""

    def __init__(self, execution: Execution) -> None:
        self._execution = execution

    @cached_property
    def _header(self) -> dict[str, Any]:
        return self._execution.header_json()

    @cached_property
    def _stages(self) -> list[ex.StageView]:
        return [ex.StageView(stage_json(self._execution, s)) for s in self._execution.stages]

    def _lookup(self, key: str) -> Any:
        if key == "stages":
            return self._stages
        if key == "context":
            return merged_outputs(self._execution)
        return self._header[key]

    def __getitem__(self, key: str) -> Any:
        try:
            return self._lookup(key)
        except KeyError:
            alt = ex.bean_key(key)
            if alt is None:
                raise
            return self._lookup(alt)

    def __iter__(self) -> Iterator[str]:
        yield from self._header
        yield "stages"
        if "context" not in self._header:
            yield "context"

    def __len__(self) -> int:
        return len(self._header) + (1 if "context" in self._header else 2)


class StageEvaluator:
    """Evaluates ``${...}`` for the engine and the stages."""

    def __init__(self, services: EngineServices) -> None:
        self.services = services
        settings = services.settings
        self._limits = ex.Limits(
            max_expression_length=settings.expressions.max_length,
            max_steps=settings.expressions.max_steps,
            max_seconds=settings.expressions.max_seconds,
            url_timeout_seconds=settings.expressions.url_timeout_seconds,
            url_max_bytes=settings.expressions.url_max_bytes,
        )
        policy = OutboundPolicy(settings.outbound.allow, settings.outbound.deny)
        fetch = fetcher(policy, "expression")
        db = services.db

        def guarded(url: str, *, timeout_s: float, max_bytes: int) -> str:
            # A fetch here would hold the transaction (on SQLite, every writer) for as long as the
            # URL takes. The engine evaluates URL-using values outside transactions; anything
            # that still gets here is refused rather than allowed to stall the database.
            if db.in_transaction():
                raise UrlInTransaction(
                    "URL functions are not evaluated while the engine holds a database transaction "
                    "(here: stageEnabled or a stage-start expression); they are evaluated when the "
                    "stage's tasks run"
                )
            return fetch(url, timeout_s=timeout_s, max_bytes=max_bytes)

        self._fetch = guarded

    # -- contexts --------------------------------------------------------------------------------

    def context(
        self,
        execution: Execution,
        stage: Stage | None,
        root_context: Mapping[str, Any] | None = None,
        *,
        extra_root: Mapping[str, Any] | None = None,
    ) -> ex.EvaluationContext:
        """The evaluation context of a stage (or of the execution alone when ``stage`` is None)."""
        view = ExecutionView(execution)
        base: Mapping[str, Any] = (
            root_context
            if root_context is not None
            else (StageContext(execution, stage) if stage is not None else {})
        )
        v4 = ex.spel_version(execution.spel_evaluator) == "v4"
        root = ex.build_root(
            base,
            execution=view,
            trigger=execution.trigger,
            template_variables=execution.template_variables if v4 else None,
        )
        overrides = dict(extra_root or {})
        if "outcome" in execution.state:
            overrides.setdefault("outcome", execution.state["outcome"])
        if overrides:
            root = _Overlay(root, overrides)
        return ex.EvaluationContext(
            root=root,
            execution=view,
            current_stage=stage_json(execution, stage) if stage is not None else None,
            user=_user(execution),
            url_fetcher=self._fetch,
            pipeline_id_lookup=self._pipeline_id,
            allow_unknown_keys=True,
            limits=self._limits,
            clock=self.services.clock,
        )

    def _pipeline_id(self, application: str, name: str) -> str | None:
        with self.services.db.read() as conn:
            found = self.services.pipelines.get_by_name(conn, application, name)
        return None if found is None else str(found.get("id"))

    # -- what handlers and tasks call ------------------------------------------------------------

    def _evaluated(
        self, execution: Execution, stage: Stage, *, defer_urls: bool = False
    ) -> dict[str, Any] | None:
        """The stage's context evaluated (None when there is nothing to evaluate). With
        ``defer_urls``, values that call URL helpers are kept as they are (evaluated later, when
        the stage's tasks run outside any transaction)."""
        context = stage.context
        if context.get("skipExpressionEvaluation") is True or not has_template(context):
            return None
        held: dict[str, Any] = {}
        if defer_urls:
            held = {k: v for k, v in context.items() if uses_urls(v)}
            if held:
                context = {k: v for k, v in context.items() if k not in held}
        if stage.type == "evaluateVariables":
            # The stage's task evaluates its variables (one after another under v4) and keeps
            # their sources for restarts; a pass here would lose the sources, and under v4 record
            # false failures for variables that refer to earlier ones.
            held = {**held, **({"variables": context["variables"]} if "variables" in context else {})}
            context = {k: v for k, v in context.items() if k != "variables"}
        evaluated, _ = ex.evaluate_stage_context(context, self.context(execution, stage))
        evaluated.update(held)
        return evaluated

    def evaluate_stage_context(self, execution: Execution, stage: Stage) -> None:
        """Evaluate a top-level stage's context in place at stage start (failures stay as text and
        are recorded in ``expressionEvaluationSummary``)."""
        evaluated = self._evaluated(execution, stage, defer_urls=True)
        if evaluated is not None:
            stage.context.clear()
            stage.context.update(evaluated)

    def task_context(self, execution: Execution, stage: Stage) -> Mapping[str, Any]:
        """What a task sees: the context evaluated again (values that failed earlier may resolve
        now), with ancestor outputs falling through."""
        evaluated = self._evaluated(execution, stage)
        return StageContext(execution, stage, evaluated)

    def stage_enabled(self, execution: Execution, stage: Stage, expression: Any) -> bool:
        """Spinnaker's stageEnabled rule: enabled only when the result is true or "true"."""
        return ex.condition_true(self.evaluate_condition(execution, stage, expression))

    def evaluate_condition(self, execution: Execution, stage: Stage, text: Any) -> Any:
        """A condition written without ``${}`` (stageEnabled, a precondition): its raw result, or
        the text itself when it failed to evaluate."""
        return ex.evaluate_condition(text, self.context(execution, stage)).value

    def condition_result(self, execution: Execution, stage: Stage, text: Any) -> ex.EvaluationResult:
        """Like evaluate_condition, with the failure summary."""
        return ex.evaluate_condition(text, self.context(execution, stage))

    def evaluate_variables(
        self, execution: Execution, stage: Stage, variables: Sequence[Mapping[str, Any]]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """evaluateVariables' ``[{key, value}]``: (key -> value, the summary of failures). Together
        under v3, in order under v4 (variable n sees variables 1..n-1 as root keys)."""
        sequential = ex.spel_version(execution.spel_evaluator) == "v4"
        evaluated, summary = ex.evaluate_variables(
            variables, self.context(execution, stage), sequential=sequential
        )
        values = {
            str(v["key"]): v.get("value")
            for v in evaluated
            if isinstance(v, Mapping) and v.get("key") is not None
        }
        return values, summary.to_json()

    def evaluate_variable_list(
        self, execution: Execution, stage: Stage, variables: Sequence[Mapping[str, Any]]
    ) -> tuple[list[Any], dict[str, Any]]:
        """evaluateVariables' ``[{key, value, description?}]`` evaluated as the stage would (under
        v4 each keeps its ``sourceValue`` and its description is evaluated too), with the summary."""
        sequential = ex.spel_version(execution.spel_evaluator) == "v4"
        evaluated, summary = ex.evaluate_variables(
            variables, self.context(execution, stage), sequential=sequential
        )
        return evaluated, summary.to_json()

    def evaluate_text(self, execution: Execution, stage: Stage | None, text: str) -> ex.EvaluationResult:
        """One template string in a stage's (or the execution's) scope; for the API's
        evaluateExpression endpoints and notification texts."""
        return ex.evaluate_in(text, self.context(execution, stage))

    def _start_context(
        self, trigger: Mapping[str, Any], template_variables: Any = None
    ) -> ex.EvaluationContext:
        return ex.EvaluationContext(
            root=ex.pipeline_start_root(trigger, template_variables),
            user=str(trigger.get("user") or "anonymous"),
            url_fetcher=self._fetch,
            pipeline_id_lookup=self._pipeline_id,
            allow_unknown_keys=False,
            limits=self._limits,
            clock=self.services.clock,
        )

    def evaluate_trigger(self, trigger: dict[str, Any]) -> dict[str, Any]:
        """The trigger evaluated against itself, as Orca processes ``{trigger: raw}`` with the raw
        trigger as root before a pipeline starts; a value that fails keeps its text."""
        if not has_template(trigger):
            return trigger
        evaluated, _ = ex.evaluate_object(trigger, self._start_context(trigger))
        return dict(evaluated)

    def evaluate_with_trigger(self, value: Any, trigger: Mapping[str, Any]) -> Any:
        """Any JSON value evaluated in the pipeline-start scope of ``trigger`` (failures keep text)."""
        if not has_template(value):
            return value
        evaluated, _ = ex.evaluate_object(value, self._start_context(trigger))
        return evaluated

    def evaluate_pipeline_config(self, config: dict[str, Any], trigger: Mapping[str, Any]) -> dict[str, Any]:
        """The pipeline-start pass (v3: the whole config; v4: all but the stages), against only
        ``trigger`` and ``templateVariables``; unknown keys are errors here, and a value that fails
        keeps its text to be tried again at stage time."""
        ctx = self._start_context(trigger, config.get("templateVariables"))
        if not has_template({k: v for k, v in config.items() if k != "stages"}) and not has_template(
            config.get("stages")
        ):
            return config
        evaluated, _ = ex.evaluate_pipeline_config(config, ctx)
        return evaluated


class _Overlay(Mapping[str, Any]):
    """A root with a few extra keys on top (``outcome`` for finally stages)."""

    def __init__(self, base: Mapping[str, Any], top: Mapping[str, Any]) -> None:
        self._base = base
        self._top = top

    def __getitem__(self, key: str) -> Any:
        if key in self._top:
            return self._top[key]
        return self._base[key]

    def __contains__(self, key: object) -> bool:
        return key in self._top or key in self._base

    def __iter__(self) -> Iterator[str]:
        yield from self._top
        yield from (k for k in self._base if k not in self._top)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _user(execution: Execution) -> str:
    auth = execution.authentication or {}
    user = auth.get("user") or execution.trigger.get("user")
    return str(user) if user else "anonymous"
