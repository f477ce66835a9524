"""Traffic guards (Orca's TrafficGuard and ClusterMatcher, reference §4.7): an application's
``trafficGuards`` (``{account, location, stack, detail, enabled}``, ``*`` matching anything) refuse
an operation that would leave a guarded cluster with no instance Up in a location.

The check runs inside the operation, under a lock per cluster and location held until the
operation ends, and reads the provider's own state (not the cache), so two pipelines that each
disable one of a cluster's two server groups cannot both pass it: the second one sees the first
one's server group already out.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gennaker.clock import Clock
from gennaker.db import Database
from gennaker.model.moniker import parse_name
from gennaker.providers.protocol import SERVER_GROUPS, CloudProvider, OperationError, OperationRequest
from gennaker.store.applications import ApplicationRepository
from gennaker.triggers.lease import RoleLease

#: Orca's ``traffic-guards.min-capacity-ratio`` default: refuse only when no instance is left Up.
MIN_CAPACITY_RATIO = 0.0
_LOCK_TTL_MS = 120_000
_LOCK_WAIT_S = 600.0


class TrafficGuardError(OperationError):
    """The operation would leave a guarded cluster without instances up."""


@dataclass(frozen=True)
class Removal:
    """What an operation takes out of rotation, if anything: one server group of a cluster."""

    server_group: str
    app: str
    cluster: str
    stack: str
    detail: str
    region: str
    descriptor: str


def removal_of(request: OperationRequest, default_region: str) -> Removal | None:
    """The removal an operation makes: a full disable, a destroy, or a resize to zero desired."""
    d = request.description
    name = str(d.get("serverGroupName") or d.get("asgName") or "")
    if not name:
        return None
    if request.name == "disableServerGroup":
        pct = d.get("desiredPercentage")
        if pct not in (None, "") and float(pct) < 100:
            return None  # a partial disable (rolling red/black) leaves the server group serving
        descriptor = "Disabling"
    elif request.name == "destroyServerGroup":
        descriptor = "Destroying"
    elif request.name == "resizeServerGroup":
        capacity = d.get("capacity")
        if not isinstance(capacity, Mapping) or str(capacity.get("desired")) != "0":
            return None
        descriptor = "Removal of all instances in"
    else:
        return None
    parsed = parse_name(name)
    if parsed.app is None:
        return None
    return Removal(
        server_group=name,
        app=parsed.app,
        cluster=parsed.cluster or name,
        stack=parsed.stack or "",
        detail=parsed.detail or "",
        region=str(d.get("region") or default_region),
        descriptor=str(d.get("operationDescriptor") or descriptor),
    )


def _rule_value(rule: Mapping[str, Any], key: str) -> str:
    value = rule.get(key)
    return "" if value is None else str(value)


def is_guarded(guards: Any, account: str, location: str, stack: str, detail: str) -> bool:
    """Whether an enabled guard matches (ClusterMatcher: ``*`` or equal; empty stack/detail match
    a cluster without one)."""
    if not isinstance(guards, list):
        return False
    for rule in guards:
        if not isinstance(rule, Mapping) or rule.get("enabled", True) in (False, "false"):
            continue
        r_account, r_location = _rule_value(rule, "account"), _rule_value(rule, "location")
        r_stack, r_detail = _rule_value(rule, "stack"), _rule_value(rule, "detail")
        if (
            r_account in ("*", account)
            and r_location in ("*", location)
            and (r_stack in ("*", stack))
            and (r_detail in ("*", detail))
        ):
            return True
    return False


def up_count(group: Mapping[str, Any]) -> int:
    """Instances whose health state is Up."""
    return sum(1 for i in group.get("instances") or [] if i.get("healthState") == "Up")


def verify_removal(
    removal: Removal,
    account: str,
    groups: Sequence[Mapping[str, Any]],
    *,
    min_ratio: float = MIN_CAPACITY_RATIO,
) -> None:
    """Raise TrafficGuardError when removing the server group leaves the cluster's location with
    an up-ratio at or below ``min_ratio`` (Orca's message); nothing Up now bypasses the check."""
    here = [g for g in groups if g.get("cluster") == removal.cluster and g.get("region") == removal.region]
    if not any(g.get("name") == removal.server_group for g in here):
        return  # already gone: a rerun of a destroy, nothing to guard
    current = sum(up_count(g) for g in here)
    if current == 0:
        return
    future = current - sum(up_count(g) for g in here if g.get("name") == removal.server_group)
    ratio = future / current
    if ratio > min_ratio:
        return
    message = (
        f"This cluster ('{removal.cluster}' in {account}/{removal.region}) has traffic guards enabled. "
        f"{removal.descriptor} [{removal.server_group}] would leave the cluster "
    )
    if future == 0:
        raise TrafficGuardError(message + "with no instances up.")
    instances = "with 1 instance up " if future == 1 else f"with {future} instances up "
    raise TrafficGuardError(
        message
        + instances
        + f"({ratio * 100:.1f}% of {current} instances currently up). "
        + f"The configured minimum is {min_ratio * 100:.1f}%."
    )


class TrafficGuards:
    """Checks operations against their application's traffic guards, under a cluster lock."""

    def __init__(self, db: Database, clock: Clock, *, min_capacity_ratio: float = MIN_CAPACITY_RATIO) -> None:
        self.db = db
        self.clock = clock
        self.min_capacity_ratio = min_capacity_ratio
        self.applications = ApplicationRepository(clock)

    def _guards(self, app: str) -> Any:
        with self.db.read() as conn:
            application = self.applications.find(conn, app)
        return (application or {}).get("trafficGuards")

    @contextlib.asynccontextmanager
    async def guarded(self, provider: CloudProvider, request: OperationRequest) -> AsyncIterator[None]:
        """Run the body under the cluster's lock after the guard check, when the operation takes
        traffic away from a guarded cluster; otherwise just run it."""
        account = next((a for a in provider.accounts() if a.name == request.account), None)
        default_region = account.regions[0] if account is not None and account.regions else ""
        removal = removal_of(request, default_region)
        if removal is None:
            yield
            return
        guards = await asyncio.to_thread(self._guards, removal.app)
        if not is_guarded(guards, request.account, removal.region, removal.stack, removal.detail):
            yield
            return
        name = f"cluster:{provider.id}/{request.account}/{removal.region}/{removal.cluster}"
        if len(name) > 200:  # the lease table's names are short; long clusters lock by digest
            name = "cluster:" + hashlib.sha256(name.encode()).hexdigest()
        lease = RoleLease(self.db, self.clock, name, request.operation_id, ttl_ms=_LOCK_TTL_MS)
        await self._acquire(lease, removal)
        renew = asyncio.create_task(self._renew(lease))
        try:
            records = await provider.refresh(request.account)
            groups = [r.body for r in records if r.kind == SERVER_GROUPS]
            verify_removal(removal, request.account, groups, min_ratio=self.min_capacity_ratio)
            yield
        finally:
            renew.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renew
            await asyncio.to_thread(lease.release)

    async def _acquire(self, lease: RoleLease, removal: Removal) -> None:
        deadline = time.monotonic() + _LOCK_WAIT_S
        while not await asyncio.to_thread(lease.acquire):
            if time.monotonic() > deadline:
                raise OperationError(
                    f"cluster {removal.cluster} ({removal.region}) stayed locked by another operation "
                    f"for {_LOCK_WAIT_S:.0f} s; try again"
                )
            await asyncio.sleep(0.05)

    async def _renew(self, lease: RoleLease) -> None:
        while True:
            await asyncio.sleep(_LOCK_TTL_MS / 3000)
            await asyncio.to_thread(lease.acquire)
