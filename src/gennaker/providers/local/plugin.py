"""Registers the local provider through the ``register_providers`` hook."""

from __future__ import annotations

from typing import Any

from gennaker.hookspecs import hookimpl
from gennaker.providers.local.provider import LocalProvider
from gennaker.providers.local.settings import accounts_from, waits_from
from gennaker.providers.registry import ProviderRegistry


@hookimpl
def register_providers(registry: ProviderRegistry, settings: Any) -> None:
    """Add the ``local`` provider with the accounts of ``[[providers.local.accounts]]``."""
    registry.add(
        LocalProvider(
            registry.db,
            registry.clock,
            registry.data_dir,
            accounts_from(settings.providers),
            waits=waits_from(settings.providers),
        )
    )
