"""Every extension point, one docstring each; the built-ins are registered through the same hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from gennaker.engine.registry import Registry

hookspec = pluggy.HookspecMarker("gennaker")
hookimpl = pluggy.HookimplMarker("gennaker")


@hookspec
def register_stages(registry: Registry, settings: Any) -> None:
    """Add stage types and their task types to ``registry`` (``registry.add_stage``/``add_task``)."""


@hookspec
def register_trigger_sources(registry: Any, settings: Any) -> None:
    """Add trigger sources (webhook, git, cron, docker ...)."""


@hookspec
def register_notifiers(registry: Any, settings: Any) -> None:
    """Add notification channels (slack, email, webhook ...)."""


@hookspec
def register_providers(registry: Any, settings: Any) -> None:
    """Add cloud providers."""


@hookspec
def register_search_sources(sources: Any, settings: Any) -> None:
    """Add ``GET /search`` result types (``sources.register(source)``; gennaker.api.search)."""


@hookspec
def register_metric_sources(registry: Any, settings: Any) -> None:
    """Add canary metric sources."""
