"""What the cloud stages need from the composition root: the providers, their operation log and
their read model (and nothing else of ``Services``).

The engine's ``EngineServices`` does not name providers (the engine knows nothing of them); the
cloud stages ask for this narrower port instead, and the composition root states that it provides
it (``gennaker.services.Services.cloud_port``), so mypy checks the wiring.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from gennaker.providers.cache import InfrastructureCache
from gennaker.providers.operations import OperationLog
from gennaker.providers.registry import ProviderRegistry


class CloudDriverPort(Protocol):
    """Providers by id, the operations they ran, and the infrastructure cache."""

    @property
    def registry(self) -> ProviderRegistry: ...
    @property
    def cache(self) -> InfrastructureCache: ...
    @property
    def operations(self) -> OperationLog: ...


@runtime_checkable
class HasCloudDriver(Protocol):
    """Services that carry the cloud port (``Services`` does)."""

    @property
    def clouddriver(self) -> CloudDriverPort: ...
