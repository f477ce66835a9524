"""Stage types and task types by name (filled from the plugin hooks, built-ins included)."""

from __future__ import annotations

from collections.abc import Iterable

from gennaker.engine.contracts import StageDefinition, Task


class UnknownStageType(LookupError):
    """No stage type is registered under this name."""


class UnknownTaskType(LookupError):
    """No task type is registered under this name."""


class Registry:
    """Maps type names and aliases to stage definitions, and task type names to tasks."""

    def __init__(self) -> None:
        self._stages: dict[str, StageDefinition] = {}
        self._tasks: dict[str, Task] = {}

    def add_stage(self, definition: StageDefinition) -> None:
        """Register a stage type under its type name and aliases; a name may be taken only once."""
        for name in (definition.type, *definition.aliases):
            existing = self._stages.get(name)
            if existing is not None and existing is not definition:
                raise ValueError(f"stage type {name!r} is registered twice")
            self._stages[name] = definition

    def add_task(self, name: str, task: Task) -> None:
        """Register a task type."""
        if name in self._tasks and self._tasks[name] is not task:
            raise ValueError(f"task type {name!r} is registered twice")
        self._tasks[name] = task

    def add_stages(self, definitions: Iterable[StageDefinition]) -> None:
        """Register several stage types."""
        for definition in definitions:
            self.add_stage(definition)

    def stage(self, type_name: str) -> StageDefinition:
        """The definition for a type name or alias."""
        try:
            return self._stages[type_name]
        except KeyError:
            raise UnknownStageType(f"unknown stage type {type_name!r}") from None

    def has_stage(self, type_name: str) -> bool:
        """Whether a stage type (or alias) is registered."""
        return type_name in self._stages

    def task(self, name: str) -> Task:
        """The task registered under ``name``."""
        try:
            return self._tasks[name]
        except KeyError:
            raise UnknownTaskType(f"unknown task type {name!r}") from None

    def stage_types(self) -> list[str]:
        """Every registered type name and alias, sorted."""
        return sorted(self._stages)
