"""Read-only views the expression language and tasks see: a stage's context falling back to its
ancestors' outputs (§2.4), and the execution as Spinnaker's JSON, built lazily."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from gennaker.engine import graph
from gennaker.model.execution import Execution, Stage


class StageContext(Mapping[str, Any]):
    """``stage.context``, where a missing key is read from the nearest ancestor's outputs."""

    def __init__(self, execution: Execution, stage: Stage, context: Mapping[str, Any] | None = None) -> None:
        self._execution = execution
        self._stage = stage
        self._own = stage.context if context is None else context
        self._ancestors: list[Stage] | None = None

    def _chain(self) -> list[Stage]:
        if self._ancestors is None:
            self._ancestors = graph.ancestors(self._execution, self._stage)[1:]
        return self._ancestors

    def __getitem__(self, key: str) -> Any:
        if key in self._own:
            return self._own[key]
        if key in self._stage.outputs:
            return self._stage.outputs[key]
        for ancestor in self._chain():
            if key in ancestor.outputs:
                return ancestor.outputs[key]
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        if key in self._own or key in self._stage.outputs:
            return True
        return any(key in a.outputs for a in self._chain())

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for source in (self._own, self._stage.outputs, *(a.outputs for a in self._chain())):
            for key in source:
                if key not in seen:
                    seen.add(key)
                    yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def get_all(self, key: str) -> list[Any]:
        """Every ancestor's value for ``key``, nearest first (Orca's getAll)."""
        values = [self._own[key]] if key in self._own else []
        values += [a.outputs[key] for a in [self._stage, *self._chain()] if key in a.outputs]
        return values


def merged_outputs(execution: Execution) -> dict[str, Any]:
    """``execution.context``: every stage's outputs in stage order; lists concatenate (distinct)."""
    merged: dict[str, Any] = {}
    for stage in execution.stages:
        for key, value in stage.outputs.items():
            current = merged.get(key)
            if isinstance(current, list) and isinstance(value, list):
                merged[key] = current + [v for v in value if v not in current]
            else:
                merged[key] = value
    return merged


def stage_json(execution: Execution, stage: Stage) -> dict[str, Any]:
    """A stage as expressions see it: Spinnaker's stage JSON plus hasSucceeded / hasFailed."""
    data = stage.to_json()
    data["hasSucceeded"] = stage.status.value in ("SUCCEEDED", "FAILED_CONTINUE", "SKIPPED")
    data["hasFailed"] = stage.status.value in ("TERMINAL", "STOPPED", "CANCELED", "FAILED_CONTINUE")
    data["execution"] = None  # no back-reference: keeps the structure a tree
    return data


def execution_json(execution: Execution) -> dict[str, Any]:
    """The execution as expressions see it (``execution.stages``, ``execution.context``...)."""
    data = execution.header_json()
    data["stages"] = [stage_json(execution, s) for s in execution.stages]
    data["context"] = merged_outputs(execution)
    return data
