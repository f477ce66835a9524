"""The local provider's accounts: ``[[providers.local.accounts]]`` in gennaker.toml.

Without any, there is one account ``local`` (region ``local``) with the defaults below, so
``gennaker up`` deploys with no setup::

    [[providers.local.accounts]]
    name = "local"
    data_dir = ".gennaker/local/local"   # images, instance directories, logs, HAProxy files
    port_range = [20000, 20999]          # instances' PORT
    bind_address = "127.0.0.1"           # where load balancers listen
    haproxy_path = "/usr/sbin/haproxy"   # default: found on PATH
    haproxy_stats_port = 19100           # HAProxy's Prometheus exporter; default: none

How stages wait on the provider (``[providers.local.waits]``); a disable returns once HAProxy
reports the drained servers idle, so the cluster-disable wait needs no minimum time here::

    [providers.local.waits]
    disable_cluster_min_time_ms = 0      # Orca's tasks.disable-cluster-min-time-millis (90000)
    poll_ms = 500                        # wait tasks' polling interval (Orca: 10000)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gennaker.config import ConfigError
from gennaker.providers.protocol import ProviderWaits

DEFAULT_ACCOUNT = "local"
DEFAULT_REGION = "local"


class LocalAccount(BaseModel):
    """One account of the local provider: a set of ports and a directory on this machine."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = DEFAULT_ACCOUNT
    region: str = DEFAULT_REGION
    environment: str = ""
    data_dir: Path | None = None
    port_range: tuple[int, int] = (20000, 20999)
    bind_address: str = "127.0.0.1"
    haproxy_path: str | None = None
    haproxy_stats_port: int | None = Field(default=None, ge=1, le=65535)
    #: Default seconds a disable waits for in-flight requests (``drainSeconds`` overrides).
    drain_seconds: float = Field(default=3.0, ge=0)
    #: Seconds between SIGTERM and SIGKILL when an instance is stopped.
    stop_grace_seconds: float = Field(default=10.0, ge=0)
    #: Each instance log file is rotated at this size, keeping ``log_backups`` older files.
    log_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    log_backups: int = Field(default=2, ge=0, le=20)
    #: Restart backoff of an exited instance: 1 s, doubling, capped here.
    max_restart_backoff_seconds: float = Field(default=30.0, ge=1)

    @field_validator("name", "region")
    @classmethod
    def _simple(cls, value: str) -> str:
        if not value or not all(c.isalnum() or c in "-_." for c in value):
            raise ValueError("must be letters, digits, '-', '_' or '.'")
        return value

    @model_validator(mode="after")
    def _ports(self) -> LocalAccount:
        low, high = self.port_range
        if not (1024 <= low <= high <= 65535):
            raise ValueError(f"port_range {list(self.port_range)} must be [low, high] within 1024..65535")
        return self

    def directory(self, gennaker_data_dir: Path) -> Path:
        """Where this account keeps its files."""
        return (self.data_dir or Path(gennaker_data_dir) / "local" / self.name).resolve()


def accounts_from(section: Mapping[str, Any]) -> tuple[LocalAccount, ...]:
    """The accounts of ``[providers.local]``; ConfigError naming the bad setting."""
    local = section.get("local") if isinstance(section, Mapping) else None
    raw = (local or {}).get("accounts") if isinstance(local, Mapping) else None
    if not raw:
        return (LocalAccount(),)
    if not isinstance(raw, list):
        raise ConfigError("providers.local.accounts must be a list of tables ([[providers.local.accounts]])")
    accounts = []
    for index, item in enumerate(raw):
        try:
            accounts.append(LocalAccount.model_validate(item))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'account'}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
            raise ConfigError(f"providers.local.accounts[{index}]: {problems}") from None
    names = [a.name for a in accounts]
    if len(set(names)) != len(names):
        raise ConfigError(f"providers.local.accounts: account names must be unique (got {names})")
    return tuple(accounts)


class LocalWaits(BaseModel):
    """``[providers.local.waits]``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    disable_cluster_min_time_ms: int = Field(default=0, ge=0)
    poll_ms: int = Field(default=500, ge=50)


def waits_from(section: Mapping[str, Any]) -> ProviderWaits:
    """The waits of ``[providers.local.waits]``; ConfigError naming the bad setting."""
    local = section.get("local") if isinstance(section, Mapping) else None
    raw = (local or {}).get("waits") if isinstance(local, Mapping) else None
    try:
        waits = LocalWaits.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"providers.local.waits: {problems}") from None
    return ProviderWaits(disable_cluster_min_ms=waits.disable_cluster_min_time_ms, poll_ms=waits.poll_ms)
