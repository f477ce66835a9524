"""The local provider's side of its HAProxy: the desired frontends built from the database, and
the calls into the HAProxy manager (gennaker.providers.local.haproxy) that make HAProxy serve them.

HAProxy is optional: when it is not installed, everything else of the provider works, and any
operation that needs a load balancer fails with the manager's message saying what to install.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gennaker.providers.local.settings import LocalAccount
from gennaker.providers.local.state import ACTIVE, CREATING, LocalState
from gennaker.providers.local.weights import weight_of
from gennaker.providers.protocol import OperationError

log = logging.getLogger(__name__)
HAPROXY_MODULE = "gennaker.providers.local.haproxy"


def haproxy() -> Any:
    """The HAProxy manager's package (imported when first needed)."""
    return importlib.import_module(HAPROXY_MODULE)


def _errors() -> tuple[type[BaseException], ...]:
    return (haproxy().HAProxyError,)


def health_check_spec(spec: Mapping[str, Any] | None) -> Any:
    """HAProxy's per-server check from a load balancer's ``healthCheck``."""
    spec = spec or {}
    path = spec.get("path")
    return haproxy().HealthCheckSpec(
        path=str(path) if path else None,
        interval_seconds=float(spec.get("intervalSeconds") or 2.0),
        timeout_seconds=float(spec.get("timeoutSeconds") or 1.0),
        healthy_threshold=int(spec.get("healthyThreshold") or 2),
        unhealthy_threshold=int(spec.get("unhealthyThreshold") or 2),
    )


class Traffic:
    """One account's HAProxy: desired state from the database, applied through the manager."""

    def __init__(self, account: LocalAccount, directory: Path, state: LocalState) -> None:
        self.account = account
        self.state = state
        self._manager: Any = None
        self._directory = directory / "haproxy"
        self._applied: tuple[Any, ...] | None = None

    def manager(self) -> Any:
        """The account's HAProxy manager (created on first use)."""
        if self._manager is None:
            self._manager = haproxy().HAProxyManager(
                account=self.account.name,
                data_dir=self._directory,
                bind_address=self.account.bind_address,
                stats_port=self.account.haproxy_stats_port,
                haproxy_path=self.account.haproxy_path,
            )
        return self._manager

    def desired(self) -> tuple[Any, ...]:
        """Every load balancer of the account with the instances of the server groups using it."""
        lbs = self.state.load_balancers()
        if not lbs:
            return ()
        module = haproxy()
        groups = [g for g in self.state.groups() if g.status in (ACTIVE, CREATING)]
        instances = self.state.instances()
        frontends = []
        for lb in lbs:
            servers = []
            for group in groups:
                if lb.name not in (group.spec.get("loadBalancers") or []):
                    continue
                for instance in instances:
                    if instance.server_group == group.name:
                        servers.append(
                            module.ServerSpec(
                                name=instance.id,
                                address="127.0.0.1",
                                port=instance.port,
                                state=instance.traffic,
                                weight=weight_of(group.spec),
                            )
                        )
            listener = (lb.spec.get("listeners") or [{}])[0]
            frontends.append(
                module.FrontendSpec(
                    name=lb.name,
                    port=int(listener.get("port") or 0),
                    protocol="TCP" if str(listener.get("protocol") or "HTTP").upper() == "TCP" else "HTTP",
                    health_check=health_check_spec(lb.spec.get("healthCheck")),
                    servers=tuple(servers),
                )
            )
        return tuple(frontends)

    def apply(self, *, force: bool = False) -> None:
        """Make HAProxy serve the desired state (starting it when needed); OperationError with
        the manager's message when it cannot."""
        desired = self.desired()
        if not desired and self._manager is None:
            return
        try:
            manager = self.manager()
            if not desired:
                if manager.is_running():
                    manager.apply(desired)
                self._applied = desired
                return
            if force or self._applied != desired or not manager.is_running():
                manager.ensure_running(desired)
                manager.apply(desired)
                self._applied = desired
        except _errors() as exc:
            self._applied = None
            raise OperationError(str(exc)) from None

    def reconcile(self) -> None:
        """The supervisor's round: restart a dead HAProxy with the current backends; log problems."""
        try:
            self.apply()
        except OperationError as exc:
            log.warning("account %s: HAProxy: %s", self.account.name, exc)

    def wait_drained(self, frontends: Sequence[str], servers: Sequence[str], timeout_s: float) -> None:
        """Wait (blocking) until the servers carry no sessions in these frontends, at most ``timeout_s``."""
        if not frontends or not servers or self._manager is None:
            return
        for frontend in frontends:
            try:
                self._manager.wait_drained(frontend, servers, timeout_s)
            except _errors() as exc:
                log.warning("account %s: waiting for %s to drain: %s", self.account.name, frontend, exc)

    def status(self) -> dict[tuple[str, str], Any]:
        """HAProxy's view of each (frontend, server); empty when HAProxy is not running."""
        if self._manager is None and not self.state.load_balancers():
            return {}
        try:
            manager = self.manager()
            if not manager.is_running():
                return {}
            return {(s.frontend, s.server): s for s in manager.status()}
        except _errors():
            return {}

    def stats_url(self) -> str | None:
        """HAProxy's Prometheus exporter of this account."""
        try:
            url: str | None = self.manager().stats_url()
            return url
        except _errors():
            return None

    def stop(self) -> None:
        """Stop the account's HAProxy (``gennaker local stop-all``)."""
        if self._manager is None and not self._directory.exists():
            return
        try:
            self.manager().stop()
        except _errors() as exc:
            log.warning("account %s: stopping HAProxy: %s", self.account.name, exc)
