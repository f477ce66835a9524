"""Cloud providers by id, filled through the ``register_providers`` hook (built-ins included)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from gennaker.clock import Clock
from gennaker.db import Database
from gennaker.errors import FieldError, InvalidInput
from gennaker.providers.protocol import Account, CloudProvider


class UnknownProvider(LookupError):
    """No provider is registered under this id."""


class ProviderRegistry:
    """Maps ``cloudProvider`` ids to providers; what stages and routes use to reach one.

    ``db``, ``clock`` and ``data_dir`` are what a ``register_providers`` hook builds its provider
    with (providers keep their desired state in the database and their files under data_dir)."""

    def __init__(self, db: Database, clock: Clock, data_dir: Path) -> None:
        self.db = db
        self.clock = clock
        self.data_dir = data_dir
        self._providers: dict[str, CloudProvider] = {}

    def add(self, provider: CloudProvider) -> None:
        """Register a provider; an id may be taken only once."""
        if provider.id in self._providers and self._providers[provider.id] is not provider:
            raise ValueError(f"cloud provider {provider.id!r} is registered twice")
        self._providers[provider.id] = provider

    def get(self, provider_id: str) -> CloudProvider:
        """The provider with this id; UnknownProvider naming the ones there are."""
        try:
            return self._providers[provider_id]
        except KeyError:
            known = ", ".join(sorted(self._providers)) or "none"
            raise UnknownProvider(
                f"unknown cloudProvider {provider_id!r} (this Gennaker has: {known})"
            ) from None

    def has(self, provider_id: str) -> bool:
        """Whether a provider is registered under this id."""
        return provider_id in self._providers

    def __iter__(self) -> Iterator[CloudProvider]:
        return iter(list(self._providers.values()))

    def accounts(self) -> list[Account]:
        """Every account of every provider, by name."""
        return sorted((a for p in self for a in p.accounts()), key=lambda a: a.name)

    def account(self, name: str) -> Account | None:
        """The account with this name, whatever its provider."""
        return next((a for a in self.accounts() if a.name == name), None)

    def provider_for(
        self, cloud_provider: str | None, account: str | None, where: str = "$"
    ) -> CloudProvider:
        """The provider a stage or task means: its ``cloudProvider`` or the provider of its account.

        InvalidInput (naming ``where``) when neither leads to a registered provider."""
        if cloud_provider:
            try:
                provider = self.get(cloud_provider)
            except UnknownProvider as exc:
                raise InvalidInput("", [FieldError(f"{where}.cloudProvider", str(exc))]) from None
            if account and account not in {a.name for a in provider.accounts()}:
                names = ", ".join(a.name for a in provider.accounts()) or "none"
                raise InvalidInput(
                    "",
                    [
                        FieldError(
                            f"{where}.account", f"{provider.id} has no account {account!r} (it has: {names})"
                        )
                    ],
                )
            return provider
        if account:
            found = self.account(account)
            if found is None:
                raise InvalidInput("", [FieldError(f"{where}.account", f"no account named {account!r}")])
            return self.get(found.cloud_provider)
        raise InvalidInput("", [FieldError(f"{where}.cloudProvider", 'is required (e.g. "local")')])

    def close(self) -> None:
        """Close every provider."""
        for provider in self:
            provider.close()
