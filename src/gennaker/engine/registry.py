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
        self._cloud_providers: set[str] = set()

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

    # -- cloud providers -------------------------------------------------------------------------

    def add_cloud_provider(self, name: str) -> None:
        """Declare a cloud provider configured here (a provider module calls this from its
        ``register_stages`` hook); declaring one twice is harmless."""
        self._cloud_providers.add(name)

    def cloud_providers(self) -> list[str]:
        """The cloud providers configured here, sorted."""
        return sorted(self._cloud_providers)

    def provider_problem(self, stage_type: str, provider: str) -> str | None:
        """Why a stage of ``stage_type`` cannot use ``provider`` here (None when it can).

        A provider is available to a stage when it is a configured cloud provider, or when the
        stage's provider-specific type ``<type>_<provider>`` is registered (Spinnaker's
        convention, e.g. ``runJob_local``)."""
        if provider in self._cloud_providers or self.has_stage(f"{stage_type}_{provider}"):
            return None
        prefix = f"{stage_type}_"
        specific = [name[len(prefix) :] for name in self._stages if name.startswith(prefix)]
        available = ", ".join(sorted({*specific, *self._cloud_providers})) or "none"
        return f"{stage_type} with cloudProvider {provider!r} is not available here (available: {available})"
