"""Registers the kubernetes provider through the ``register_providers`` hook (only when
``[providers.kubernetes]`` names accounts)."""

from __future__ import annotations

from typing import Any

from gennaker.hookspecs import hookimpl
from gennaker.providers.kubernetes.provider import KubernetesProvider
from gennaker.providers.kubernetes.settings import settings_from
from gennaker.providers.registry import ProviderRegistry


@hookimpl
def register_providers(registry: ProviderRegistry, settings: Any) -> None:
    """Add the ``kubernetes`` provider with the accounts of ``[[providers.kubernetes.accounts]]``."""
    section = settings_from(settings.providers)
    if section.accounts:
        registry.add(KubernetesProvider(registry.clock, section))
