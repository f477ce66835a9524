"""The ``local`` cloud provider: server groups of supervised processes on this machine, behind
one HAProxy per account, from images baked out of directories, archives or git repositories."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gennaker.clock import Clock
from gennaker.db import Database
from gennaker.model.moniker import parse_name
from gennaker.providers.local.account import LocalAccountRuntime
from gennaker.providers.local.images import ImageStore
from gennaker.providers.local.server_groups import ServerGroupOperations
from gennaker.providers.local.settings import LocalAccount
from gennaker.providers.local.state import ACTIVE, LoadBalancer
from gennaker.providers.local.supervisor import Supervisor
from gennaker.providers.local.views import records
from gennaker.providers.protocol import (
    Account,
    Agent,
    CacheRecord,
    OperationError,
    OperationRequest,
    ProviderWaits,
)

OPERATIONS = frozenset(
    {
        "createServerGroup",
        "cloneServerGroup",
        "resizeServerGroup",
        "enableServerGroup",
        "disableServerGroup",
        "destroyServerGroup",
        "upsertLoadBalancer",
        "deleteLoadBalancer",
        "bake",
    }
)


class LocalProvider:
    """Implements CloudProvider for processes on this machine."""

    id = "local"
    health_provider_name = "Local"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        data_dir: Path,
        accounts: Sequence[LocalAccount],
        *,
        waits: ProviderWaits | None = None,
    ) -> None:
        #: Disables return once HAProxy shows the drain done, so no minimum wait; fast polls.
        self.waits = waits or ProviderWaits(disable_cluster_min_ms=0, poll_ms=500)
        self.images = ImageStore(db, clock, (Path(data_dir) / "local" / "images").resolve())
        self.runtimes = {
            a.name: LocalAccountRuntime(db, clock, a, a.directory(data_dir), self.images) for a in accounts
        }

    # -- accounts --------------------------------------------------------------------------------

    def accounts(self) -> Sequence[Account]:
        """The configured accounts."""
        return [
            Account(
                name=rt.account.name,
                cloud_provider=self.id,
                regions=(rt.account.region,),
                environment=rt.account.environment,
                account_type=rt.account.name,
                details={
                    "bindAddress": rt.account.bind_address,
                    "portRange": list(rt.account.port_range),
                    "dataDir": str(rt.directory),
                    "haproxyStatsUrl": None,
                },
            )
            for rt in self.runtimes.values()
        ]

    def runtime(self, account: str) -> LocalAccountRuntime:
        """An account's parts; OperationError naming the accounts there are."""
        found = self.runtimes.get(account)
        if found is None:
            raise OperationError(
                f"account {account!r} is not a local account (there are: {', '.join(self.runtimes)})"
            )
        return found

    def default_account(self) -> str:
        """The first configured account (``local`` without configuration)."""
        return next(iter(self.runtimes))

    # -- operations ------------------------------------------------------------------------------

    def operations(self) -> frozenset[str]:
        """Operation names this provider runs."""
        return OPERATIONS

    async def run(self, request: OperationRequest) -> dict[str, Any]:
        """Run one operation in a thread (they block on processes and HAProxy)."""
        if request.name not in OPERATIONS:
            raise OperationError(f"the local provider has no operation {request.name!r}")
        return await asyncio.to_thread(self._run, request)

    def _run(self, request: OperationRequest) -> dict[str, Any]:
        d = request.description
        if request.name == "bake":
            image, previously = self.images.bake(
                d.get("package"),
                base_name=d.get("baseName") or None,
                version=str(d["version"]) if d.get("version") not in (None, "") else None,
                tags=d["tags"] if isinstance(d.get("tags"), Mapping) else {},
                suffix=str(d["amiSuffix"]) if d.get("amiSuffix") else None,
            )
            return {
                "imageId": image.id,
                "imageName": image.name,
                "package": image.package,
                "version": image.version,
                "previouslyBaked": previously,
            }
        rt = self.runtime(request.account)
        ops = ServerGroupOperations(rt)
        if request.name in ("createServerGroup", "cloneServerGroup"):
            description = dict(d)
            source: Mapping[str, Any] = d["source"] if isinstance(d.get("source"), Mapping) else {}
            source_name = source.get("serverGroupName") or source.get("asgName")
            if request.name == "cloneServerGroup" and source_name:
                base = ops.source_description(str(source_name))
                description = {**base, **{k: v for k, v in d.items() if v is not None and v != ""}}
            return ops.create(request.operation_id, description)
        if request.name == "upsertLoadBalancer":
            return self._upsert_load_balancer(rt, d)
        if request.name == "deleteLoadBalancer":
            return self._delete_load_balancer(rt, d)
        name = str(d.get("serverGroupName") or d.get("asgName") or "")
        if not name:
            raise OperationError(f"{request.name} needs serverGroupName")
        if request.name == "resizeServerGroup":
            capacity = d.get("capacity")
            if not isinstance(capacity, Mapping):
                raise OperationError('capacity must be an object {"min": 1, "max": 1, "desired": 1}')
            return ops.resize(name, capacity)
        if request.name == "enableServerGroup":
            return ops.enable(name)
        if request.name == "disableServerGroup":
            return ops.disable(name, d.get("desiredPercentage"), d.get("drainSeconds"))
        return ops.destroy(name)

    def _upsert_load_balancer(self, rt: LocalAccountRuntime, d: Mapping[str, Any]) -> dict[str, Any]:
        name = str(d.get("name") or d.get("loadBalancerName") or "")
        parsed = parse_name(name)
        if not name or parsed.app is None or parsed.sequence is not None:
            raise OperationError(f"name must be a load balancer name like 'shop-web' (got {name!r})")
        listeners = d.get("listeners")
        if not isinstance(listeners, list) or not listeners or not isinstance(listeners[0], Mapping):
            raise OperationError('listeners must be a list like [{"port": 8080, "protocol": "HTTP"}]')
        port = listeners[0].get("port") or listeners[0].get("externalPort")
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise OperationError(f"listeners[0].port must be a port number 1-65535 (got {port!r})")
        protocol = str(listeners[0].get("protocol") or listeners[0].get("externalProtocol") or "HTTP").upper()
        if protocol not in ("HTTP", "TCP"):
            raise OperationError(f"listeners[0].protocol must be HTTP or TCP (got {protocol!r})")
        health = d.get("healthCheck")
        if health is not None and not isinstance(health, Mapping):
            raise OperationError('healthCheck must be an object like {"path": "/health"}')
        for other in rt.state.load_balancers():
            other_port = (other.spec.get("listeners") or [{}])[0].get("port")
            if other.name != name and other_port == port:
                raise OperationError(
                    f"listeners[0].port {port} is already used by load balancer {other.name!r}"
                )
        previous = rt.state.load_balancer(name)
        spec = {"listeners": [{"port": port, "protocol": protocol}], "healthCheck": dict(health or {})}
        lb = LoadBalancer(rt.account.name, name, str(d.get("region") or rt.account.region), parsed.app, spec)
        now = rt.clock.now_ms()
        rt.state.upsert_load_balancer(lb, now)
        try:
            rt.traffic.apply(force=True)
        except OperationError:
            if previous is None:
                rt.state.delete_load_balancer(name)
            else:
                rt.state.upsert_load_balancer(previous, now)
            rt.traffic.reconcile()
            raise
        dns = f"{rt.account.bind_address}:{port}"
        return {"loadBalancers": {lb.region: {"name": name, "dnsName": dns}}, "name": name, "dnsName": dns}

    def _delete_load_balancer(self, rt: LocalAccountRuntime, d: Mapping[str, Any]) -> dict[str, Any]:
        name = str(d.get("loadBalancerName") or d.get("name") or "")
        if rt.state.load_balancer(name) is None:
            return {"loadBalancerName": name, "deleted": True}
        users = [
            g.name
            for g in rt.state.groups()
            if g.status == ACTIVE and name in (g.spec.get("loadBalancers") or [])
        ]
        if users:
            raise OperationError(
                f"load balancer {name!r} is used by {', '.join(users)}; destroy those server groups first"
            )
        rt.state.delete_load_balancer(name)
        rt.traffic.reconcile()
        return {"loadBalancerName": name, "deleted": True}

    # -- read model and agents -------------------------------------------------------------------

    async def refresh(self, account: str) -> Sequence[CacheRecord]:
        """The read model of one account."""
        return await asyncio.to_thread(records, self.runtime(account))

    def agents(self) -> Sequence[Agent]:
        """A supervisor per account (the framework adds a caching agent per account)."""
        return [Supervisor(rt) for rt in self.runtimes.values()]

    def console_output(self, account: str, region: str, instance_id: str) -> dict[str, Any] | None:
        """The instance's stdout and stderr (their last 256 KiB)."""
        rt = self.runtimes.get(account)
        instance = rt.state.instance(instance_id) if rt is not None else None
        if rt is None or instance is None:
            return None
        return {"output": rt.instances.console(instance)}

    def stop_all(self) -> dict[str, int]:
        """Destroy every server group and stop every HAProxy of every account (a clean machine)."""
        stopped = {}
        for name, rt in self.runtimes.items():
            ops = ServerGroupOperations(rt)
            groups = rt.state.groups()
            for group in groups:
                rt.state.update_group(group.name, rt.clock.now_ms(), disabled=True)
                ops.destroy(group.name)
            rt.traffic.stop()
            stopped[name] = len(groups)
        return stopped

    def close(self) -> None:
        """Nothing to release: deployed processes and HAProxy keep running."""
