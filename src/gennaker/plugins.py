"""The plugin manager: built-in plugins first, then those installed under the ``gennaker`` entry-point
group (Datasette's DEFAULT_PLUGINS pattern)."""

from __future__ import annotations

import importlib
import logging

import pluggy

from gennaker import hookspecs

log = logging.getLogger(__name__)

#: Modules whose hook implementations make up Gennaker's built-in behaviour.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "gennaker.stages",
    "gennaker.canary.plugin",
    "gennaker.providers.local.plugin",
    "gennaker.providers.kubernetes.plugin",
    "gennaker.providers.search",
)


def plugin_manager(*, load_entry_points: bool = True, extra: tuple[object, ...] = ()) -> pluggy.PluginManager:
    """A manager with the built-in plugins, installed ones, and ``extra`` (tests, embedding)."""
    manager = pluggy.PluginManager("gennaker")
    manager.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        manager.register(importlib.import_module(name), name=name)
    if load_entry_points:
        manager.load_setuptools_entrypoints("gennaker")
    for plugin in extra:
        manager.register(plugin)
    return manager
