"""What stages and routes use to reach cloud providers: the registry, the operation log and the
infrastructure cache, built once at start (the composition root wires it)."""

from __future__ import annotations

from dataclasses import dataclass

from gennaker.providers.cache import InfrastructureCache
from gennaker.providers.operations import OperationLog
from gennaker.providers.registry import ProviderRegistry


@dataclass
class Clouddriver:
    """Providers, their operations, and their read model."""

    registry: ProviderRegistry
    cache: InfrastructureCache
    operations: OperationLog

    def close(self) -> None:
        """Release the providers' resources (deployed things keep running)."""
        self.registry.close()
