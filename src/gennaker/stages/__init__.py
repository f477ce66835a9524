"""Built-in stage types, one module each, registered through the ``register_stages`` hook."""

from __future__ import annotations

from typing import Any

from gennaker.engine.registry import Registry
from gennaker.hookspecs import hookimpl
from gennaker.stages import execution_window, wait


@hookimpl
def register_stages(registry: Registry, settings: Any) -> None:
    """Register Gennaker's built-in stage types."""
    for module in (wait, execution_window):
        module.register(registry, settings)
