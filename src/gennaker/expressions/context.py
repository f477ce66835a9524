"""What an evaluation sees: the root mapping (section 4.2 of the Orca reference) and everything
else the evaluator cannot know (the execution, the current stage and user, URL fetching, pipeline
id lookups, the clock, the limits)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Protocol

from gennaker.clock import Clock, SystemClock
from gennaker.expressions.bounds import DEFAULT_LIMITS, Limits


class UrlFetcher(Protocol):
    """Fetches a URL's body as text for ``#fromUrl`` and friends; raises on any failure."""

    def __call__(self, url: str, *, timeout_s: float, max_bytes: int) -> str:
        """The body of ``url``."""
        ...


# An extra helper function (a plugin's ``#name(args)``): (context, arguments) -> value.
HelperFunction = Callable[["EvaluationContext", list[Any]], Any]
PipelineIdLookup = Callable[[str, str], "str | None"]

_NO_FUNCTIONS: Mapping[str, HelperFunction] = MappingProxyType({})


@dataclass(frozen=True)
class EvaluationContext:
    """Everything one evaluation needs besides the text.

    ``root`` is the mapping names resolve against (``build_root`` makes Spinnaker's).
    ``execution`` defaults to ``root['execution']``; helper functions receive it implicitly.
    ``pipeline_id_lookup(application, name)`` answers ``#pipelineId`` and friends.
    ``allow_unknown_keys`` is True at stage time (missing keys are null) and False for the
    pipeline-start pass (missing keys are errors).
    """

    root: Mapping[str, Any]
    execution: Mapping[str, Any] | None = None
    current_stage: Mapping[str, Any] | None = None
    user: str | None = None
    url_fetcher: UrlFetcher | None = None
    pipeline_id_lookup: PipelineIdLookup | None = None
    allow_unknown_keys: bool = True
    limits: Limits = DEFAULT_LIMITS
    clock: Clock = field(default_factory=SystemClock)
    extra_functions: Mapping[str, HelperFunction] = field(default_factory=lambda: _NO_FUNCTIONS)

    def with_root(self, root: Mapping[str, Any]) -> EvaluationContext:
        """The same context over another root."""
        return replace(self, root=root)

    def the_execution(self) -> Mapping[str, Any] | None:
        """The execution helper functions work on (explicit, else ``root['execution']``)."""
        if self.execution is not None:
            return self.execution
        found = self.root.get("execution")
        return found if isinstance(found, Mapping) else None


def bean_key(name: object) -> str | None:
    """The key a Java-bean property name also reads: ``Status`` -> ``status``. Orca's execution,
    stage and task are Java objects, and SpEL's ReflectivePropertyAccessor finds ``getStatus()``
    for both ``status`` and ``Status`` (a name whose first two letters are capitals, ``URL``, is
    kept as Java's Introspector keeps it)."""
    if not isinstance(name, str) or not name or not name[0].isupper():
        return None
    if len(name) > 1 and name[1].isupper():
        return None
    return name[0].lower() + name[1:]


class BeanView(Mapping[str, Any]):
    """A JSON object read as the Java bean it stands for: a capitalised property name falls back
    to the JSON key (``Status`` reads ``status``). Iteration and length are the object's own."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def _lookup(self, key: str) -> Any:
        return self._data[key]

    def __getitem__(self, key: str) -> Any:
        try:
            return self._lookup(key)
        except KeyError:
            alt = bean_key(key)
            if alt is None:
                raise
            return self._lookup(alt)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class TaskView(BeanView):
    """A task of a stage (Orca's TaskExecution)."""

    __slots__ = ()


class StageView(BeanView):
    """A stage mapping plus the ``hasSucceeded`` / ``hasFailed`` getters Spinnaker's stage has;
    its tasks read as TaskViews."""

    __slots__ = ()

    _EXTRA = ("hasSucceeded", "hasFailed", "status")

    def __init__(self, stage: Mapping[str, Any]) -> None:
        super().__init__(stage._data if isinstance(stage, StageView) else stage)

    def _lookup(self, key: str) -> Any:
        stage = self._data
        if key == "hasSucceeded":
            return stage.get("status") == "SUCCEEDED"
        if key == "hasFailed":
            return stage.get("status") == "TERMINAL"
        if key == "status":
            return stage.get("status", "NOT_STARTED")
        value = stage[key]
        if key == "tasks" and isinstance(value, list):
            return [TaskView(t) if isinstance(t, Mapping) else t for t in value]
        return value

    def __iter__(self) -> Iterator[str]:
        yield from self._data
        for key in self._EXTRA:
            if key not in self._data:
                yield key

    def __len__(self) -> int:
        return len(self._data) + sum(1 for key in self._EXTRA if key not in self._data)


class RootMapping(Mapping[str, Any]):
    """The stage context (read through, not copied) overlaid with the computed root keys."""

    __slots__ = ("_base", "_over")

    def __init__(self, base: Mapping[str, Any], overrides: Mapping[str, Any]) -> None:
        self._base = base
        self._over = overrides

    def __getitem__(self, key: str) -> Any:
        if key in self._over:
            return self._over[key]
        return self._base[key]

    def get(self, key: str, default: Any = None) -> Any:
        """A key's value, the overlay first."""
        if key in self._over:
            return self._over[key]
        return self._base.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._over or key in self._base

    def __iter__(self) -> Iterator[str]:
        yield from self._over
        for key in self._base:
            if key not in self._over:
                yield key

    def __len__(self) -> int:
        return len(self._over) + sum(1 for key in self._base if key not in self._over)


def _scm_info(context: Mapping[str, Any], trigger: Mapping[str, Any] | None) -> Any:
    scm = context.get("scmInfo")
    if scm is None and trigger is not None:
        build_info = trigger.get("buildInfo")
        if isinstance(build_info, Mapping):
            scm = build_info.get("scm") or []
    # Not objects.is_sequence: objects sits above this module (it types its methods with Env).
    if isinstance(scm, Sequence) and not isinstance(scm, (str, bytes, bytearray)):
        if len(scm) >= 2:
            for entry in scm:
                branch = entry.get("branch") if isinstance(entry, Mapping) else None
                if branch not in ("master", "develop"):
                    return entry
            return scm[0]
        return scm[0] if scm else None
    return scm if isinstance(scm, Mapping) else None


def build_root(
    context: Mapping[str, Any],
    *,
    execution: Mapping[str, Any] | None = None,
    trigger: Mapping[str, Any] | None = None,
    template_variables: Mapping[str, Any] | None = None,
) -> Mapping[str, Any]:
    """Spinnaker's root for a stage: its context keys plus ``execution``, ``trigger``,
    ``parameters``, ``scmInfo`` and (when given, i.e. spelEvaluator v4) ``templateVariables``.

    ``context`` should already fall back to ancestor outputs (the engine's stage context).
    Orchestrations (``execution['type'] == 'ORCHESTRATION'``) get no ``execution``/``trigger``.
    """
    overrides: dict[str, Any] = {}
    is_pipeline = execution is not None and execution.get("type", "PIPELINE") == "PIPELINE"
    if is_pipeline and execution is not None:
        overrides["execution"] = execution
        if trigger is None:
            found = execution.get("trigger")
            trigger = found if isinstance(found, Mapping) else {}
    if trigger is not None and (is_pipeline or execution is None):
        overrides["trigger"] = trigger
    if template_variables:
        overrides["templateVariables"] = template_variables
    params = trigger.get("parameters") if trigger is not None else None
    if isinstance(params, Mapping) and params:
        overrides["parameters"] = params
    elif "parameters" not in context:
        overrides["parameters"] = {}
    overrides["scmInfo"] = _scm_info(context, trigger)
    return RootMapping(context, overrides)


def pipeline_start_root(
    trigger: Mapping[str, Any], template_variables: Mapping[str, Any] | None = None
) -> Mapping[str, Any]:
    """The root of the pipeline-start pass: only ``trigger`` and ``templateVariables`` (plus the
    derived ``parameters`` and ``scmInfo``)."""
    root = build_root({}, trigger=trigger)
    return RootMapping(root, {"templateVariables": dict(template_variables or {})})
