"""What a cloud provider is (Clouddriver's CloudProvider, AccountCredentials, AtomicOperation and
CachingAgent, folded into one protocol).

A provider has accounts, runs named operations (``createServerGroup``, ``resizeServerGroup``, ...)
described by Orca-shaped dictionaries, and contributes agents: background work run by the
scheduler role under a lease (its caching agent, which writes the read model into the
infrastructure cache, and for the local provider the process supervisor). The API serves the read
model from the cache only, so a provider never answers reads itself except for things that are
not cached (an instance's console output).

Stages reach providers only through the ProviderRegistry on the services; the engine knows nothing
of them. Kubernetes and AWS will implement the same protocol.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

#: The kinds of record in the infrastructure cache (Clouddriver's cache namespaces).
SERVER_GROUPS = "serverGroups"
LOAD_BALANCERS = "loadBalancers"
INSTANCES = "instances"
IMAGES = "images"
CACHE_KINDS = (SERVER_GROUPS, LOAD_BALANCERS, INSTANCES, IMAGES)


class OperationError(Exception):
    """An operation cannot be done as described; the message names the field and the fix.

    The operation is recorded as failed and the stage ends TERMINAL with the message."""


class ProviderUnavailable(Exception):
    """A part the provider needs is missing (a binary, a service); the message says what to install."""


@dataclass(frozen=True)
class Account:
    """One account of a provider, as ``GET /credentials`` shows it."""

    name: str
    cloud_provider: str
    regions: tuple[str, ...]
    environment: str = ""
    account_type: str = ""
    #: Provider-specific fields shown with ``?expand=true``.
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self, *, expand: bool) -> dict[str, Any]:
        """Gate's credentials shape (``expand`` adds regions and the provider's details)."""
        data: dict[str, Any] = {
            "name": self.name,
            "type": self.cloud_provider,
            "cloudProvider": self.cloud_provider,
            "accountType": self.account_type or self.name,
            "environment": self.environment or self.name,
            "accountId": self.name,
            "requiredGroupMembership": [],
            "permissions": {},
            "authorized": True,
            "challengeDestructiveActions": False,
            "primaryAccount": False,
        }
        regions = [
            {"name": r, "availabilityZones": [r], "preferredZones": [r], "deprecated": False}
            for r in self.regions
        ]
        if expand:
            data["regions"] = regions
            data.update(self.details)
        else:
            data["regions"] = [{"name": r} for r in self.regions]
        return data


@dataclass(frozen=True)
class CacheRecord:
    """One document of the read model: a server group, load balancer, instance or image."""

    kind: str
    account: str
    region: str
    name: str
    application: str | None
    body: Mapping[str, Any]


@dataclass(frozen=True)
class OperationRequest:
    """One operation to run: its name, Orca's description, and the id it is recorded under."""

    operation_id: str
    name: str
    description: Mapping[str, Any]
    account: str
    application: str | None


@dataclass(frozen=True)
class ProviderWaits:
    """How long stages wait on a provider's results, and how often they look (Orca fixes these for
    cloud APIs; a provider whose results are observable at once, like ``local``, shortens them)."""

    #: WaitForClusterDisable's minimum time once something was disabled, for connection draining
    #: the stage cannot observe (Orca's ``tasks.disable-cluster-min-time-millis``, 90 s).
    disable_cluster_min_ms: int = 90_000
    #: How often wait tasks poll the read model (Orca's cluster and instance waits: 10 s).
    poll_ms: int = 10_000


#: Orca's waits, for providers that do not say otherwise.
CLOUD_WAITS = ProviderWaits()


class Agent(Protocol):
    """Background work of a provider, run every ``interval_ms`` under a lease named ``name``."""

    name: str
    interval_ms: int

    async def run_once(self) -> Any:
        """One round; returns something worth logging (a count) or None."""
        ...


class CloudProvider(Protocol):
    """A cloud provider: accounts, operations, agents and the uncached reads."""

    #: The ``cloudProvider`` id stages send (``local``, ``kubernetes``, ``aws``).
    id: str
    #: The platform health type (``Amazon`` for AWS, ``Local`` here) for platformHealthOnly apps.
    health_provider_name: str
    #: How stages wait on this provider (CLOUD_WAITS unless its results are observable sooner).
    waits: ProviderWaits

    def accounts(self) -> Sequence[Account]:
        """Every configured account."""
        ...

    def operations(self) -> frozenset[str]:
        """The operation names this provider runs."""
        ...

    async def run(self, request: OperationRequest) -> dict[str, Any]:
        """Do the operation (idempotently: it may be run again after a crash with the same id) and
        return its result object; raise OperationError for a request that cannot be done."""
        ...

    async def refresh(self, account: str) -> Sequence[CacheRecord]:
        """The provider's whole read model for one account (what its caching agent writes)."""
        ...

    def agents(self) -> Sequence[Agent]:
        """Background work the scheduler role runs (supervision, caching)."""
        ...

    def console_output(self, account: str, region: str, instance_id: str) -> dict[str, Any] | None:
        """``{output: [{name, output}]}`` for an instance, or None when there is no such instance."""
        ...

    def close(self) -> None:
        """Release resources (connections, threads); never stops what was deployed."""
        ...
