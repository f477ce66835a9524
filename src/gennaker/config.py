"""Settings: one frozen object read from gennaker.toml and GENNAKER_* environment variables.

Precedence, lowest first: defaults, the TOML file (``--config`` or ``GENNAKER_CONFIG``, else
``./gennaker.toml`` when present), then environment variables. The well-known variables
(``GENNAKER_DATABASE_URL``, ``GENNAKER_HOST``, ...) are listed in ``_ENV_ALIASES``; any other setting
is reachable as ``GENNAKER_<SECTION>__<KEY>`` (for example ``GENNAKER_WORKER__CONCURRENCY=8``).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_DATABASE_URL = "sqlite:///./.gennaker/gennaker.db"


class ConfigError(Exception):
    """The configuration is invalid; the message says which setting and why."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DatabaseSettings(_Section):
    """Where everything that must not be lost lives."""

    url: str = DEFAULT_DATABASE_URL
    #: Connection pool size for PostgreSQL (per process).
    pool_size: int = Field(default=10, ge=1, le=200)
    #: SQLite's ``PRAGMA synchronous``: FULL (default) makes every commit durable before the
    #: engine acknowledges it (one fsync of the WAL per commit); NORMAL skips that fsync, so a
    #: power loss or OS crash may lose the last commits (never corrupts). See docs/engine.md.
    #: PostgreSQL is not affected (it keeps its own synchronous_commit, on by default).
    sqlite_synchronous: Literal["FULL", "NORMAL", "EXTRA"] = "FULL"

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://", "memory://")):
            raise ValueError(
                f"must start with sqlite:///, postgresql:// or memory:// (got {value.split(':', 1)[0]!r})"
            )
        return value


class ServerSettings(_Section):
    """The HTTP API."""

    host: str = "127.0.0.1"
    port: int = Field(default=8084, ge=0, le=65535)
    #: The URL people use to reach the API/UI, for links in notifications.
    public_url: str | None = None
    #: Largest request body accepted on any route (413 beyond it, judged from Content-Length
    #: before reading and by counting while reading).
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    #: Largest body of a pipeline, strategy or template save (configs with inline manifests).
    max_config_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    #: Host names (besides loopback addresses and ``localhost``) that requests may be addressed
    #: to while authentication is off: the guard against DNS rebinding.
    allowed_hosts: tuple[str, ...] = ()

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


class LocalUser(_Section):
    """A person who signs in with HTTP Basic."""

    name: str
    #: ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>``, made by ``gennaker user add``.
    password_hash: str
    roles: tuple[str, ...] = ()


class AuthSettings(_Section):
    """Authentication of API callers."""

    enabled: bool = False
    users: tuple[LocalUser, ...] = ()
    #: With auth on, also require credentials on incoming webhooks (``POST /webhooks/...``), which
    #: are otherwise open as in Spinnaker's Gate and protected by git secrets and constraints.
    webhooks_require_auth: bool = False
    #: Failed HTTP Basic sign-ins allowed per user name, and per client address, within
    #: ``login_failure_window_seconds``; beyond that the API answers 429 with Retry-After.
    login_failures_per_user: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=20, ge=1)
    login_failure_window_seconds: float = Field(default=300.0, gt=0)


class OutboundSettings(_Section):
    """The one policy for outbound HTTP from stages, expressions and notifiers."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    @field_validator("allow", "deny", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


class WorkerSettings(_Section):
    """The message processor."""

    #: Messages handled at the same time by one worker process.
    concurrency: int = Field(default=4, ge=1, le=256)
    #: How long a leased message stays invisible before another worker may take it.
    lease_seconds: float = Field(default=120.0, gt=0)
    #: Fallback polling interval when no wake-up arrives. Default: 50 ms on SQLite (other
    #: processes cannot wake this one), 1 s on PostgreSQL (LISTEN/NOTIFY wakes workers at once).
    poll_interval_ms: int | None = Field(default=None, ge=5)
    #: Idle polls back off from ``poll_interval_ms`` by doubling up to this (ms), and return to
    #: ``poll_interval_ms`` as soon as work is found or a wake-up arrives. A wake-up from this process
    #: (or, on PostgreSQL, from any) is immediate; only work queued by another process on SQLite waits
    #: up to this long. Default: 1 s on SQLite, 5 s on PostgreSQL.
    idle_poll_max_ms: int | None = Field(default=None, ge=5)
    #: Deliveries of one message before it is dead-lettered.
    max_attempts: int = Field(default=10, ge=1)
    #: A worker renews its liveness row every third of this; once a row is this old, other
    #: workers deliver the dead worker's messages again without waiting for their leases.
    liveness_seconds: float = Field(default=30.0, gt=0)


class EngineSettings(_Section):
    """Orchestration defaults that Spinnaker exposes as dynamic config."""

    #: Zone of restrictExecutionDuringTimeWindow windows (Orca: tasks.execution-window.timezone).
    execution_window_timezone: str = "America/Los_Angeles"
    #: Default spelEvaluator when a pipeline names none.
    default_spel_evaluator: Literal["v3", "v4"] = "v3"
    #: After each write of an execution, re-serialise every stage and fail if one changed that the
    #: handler did not mark changed (a write that would be lost). Costly; the test helpers turn it on.
    verify_writes: bool = False


class ExpressionSettings(_Section):
    """Limits of the ${...} language."""

    max_length: int = Field(default=10_000, ge=100)
    max_steps: int = Field(default=100_000, ge=1_000)
    #: Wall time one expression may take, URL fetches (#fromUrl and friends) included.
    max_seconds: float = Field(default=2.0, gt=0)
    #: Longest a single URL fetch may take (never more than what is left of ``max_seconds``).
    url_timeout_seconds: float = Field(default=10.0, gt=0)
    url_max_bytes: int = Field(default=1_000_000, ge=1_024)


class EventSettings(_Section):
    """The event log (``events``: the audit trail, the outbox, ``GET /events``)."""

    #: Events older than this are deleted (once the outbox dispatcher has acted on them).
    retention_days: float = Field(default=30.0, gt=0)
    #: At most this many ``trigger.rejected`` events per application per window are recorded; the
    #: last one says that further rejections are not recorded until the window has passed.
    rejected_per_window: int = Field(default=20, ge=1)
    rejected_window_seconds: int = Field(default=3600, ge=1)


class CorsSettings(_Section):
    """Cross-origin access for a browser UI (Spinnaker's Deck) served from another origin."""

    #: Origins allowed to call the API with credentials: exact origins (``https://deck.example.com``)
    #: or, starting with ``^``, regular expressions matched against the whole Origin header (as
    #: Gate's ``cors.allowed-origins-pattern``). Empty: no cross-origin access.
    allowed_origins: tuple[str, ...] = ()

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _valid(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if entry == "*":
                raise ValueError("'*' cannot be used: credentials are allowed, so origins must be named")
            if entry.startswith("^"):
                try:
                    re.compile(entry)
                except re.error as exc:
                    raise ValueError(f"{entry!r} is not a valid regular expression: {exc}") from None
            elif "://" not in entry:
                raise ValueError(f"{entry!r} is not an origin (scheme://host[:port]) or a ^regex")
        return value


class ApiSettings(_Section):
    """HTTP API behaviour beyond the listening address."""

    cors: CorsSettings = CorsSettings()


class SchedulerSettings(_Section):
    """The scheduler role (cron, registry polling)."""

    cron_timezone: str = "America/Los_Angeles"


class TrafficGuardSettings(_Section):
    """``[traffic_guards]``: Orca's ``traffic-guards.min-capacity-ratio``."""

    #: Refuse a removal that leaves at most this share of a guarded cluster's up instances.
    min_capacity_ratio: float = Field(default=0.0, ge=0.0, lt=0.5)


class Settings(_Section):
    """Everything Gennaker reads at start, validated once."""

    data_dir: Path = Path(".gennaker")
    database: DatabaseSettings = DatabaseSettings()
    server: ServerSettings = ServerSettings()
    api: ApiSettings = ApiSettings()
    auth: AuthSettings = AuthSettings()
    outbound: OutboundSettings = OutboundSettings()
    worker: WorkerSettings = WorkerSettings()
    engine: EngineSettings = EngineSettings()
    expressions: ExpressionSettings = ExpressionSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    events: EventSettings = EventSettings()
    traffic_guards: TrafficGuardSettings = TrafficGuardSettings()
    #: Sections owned by later subsystems (webhook, notifications, docker, ...), validated there.
    webhook: Mapping[str, Any] = Field(default_factory=dict)
    notifications: Mapping[str, Any] = Field(default_factory=dict)
    docker: Mapping[str, Any] = Field(default_factory=dict)
    #: Per stage type settings (``[stages.run_job_local]``), validated by the stage.
    stages: Mapping[str, Any] = Field(default_factory=dict)
    #: Cloud providers' sections (``[[providers.local.accounts]]``), validated by each provider.
    providers: Mapping[str, Any] = Field(default_factory=dict)
    gitops: Mapping[str, Any] = Field(default_factory=dict)
    policies: Mapping[str, Any] = Field(default_factory=dict)
    #: Canary analysis: metrics accounts (gennaker.canary.settings).
    canary: Mapping[str, Any] = Field(default_factory=dict)


_ENV_ALIASES: dict[str, tuple[str, ...]] = {
    "GENNAKER_DATABASE_URL": ("database", "url"),
    "GENNAKER_HOST": ("server", "host"),
    "GENNAKER_PORT": ("server", "port"),
    "GENNAKER_PUBLIC_URL": ("server", "public_url"),
    "GENNAKER_OUTBOUND_ALLOW": ("outbound", "allow"),
    "GENNAKER_OUTBOUND_DENY": ("outbound", "deny"),
    "GENNAKER_DATA_DIR": ("data_dir",),
    "GENNAKER_AUTH_ENABLED": ("auth", "enabled"),
    "GENNAKER_ALLOWED_HOSTS": ("server", "allowed_hosts"),
    "GENNAKER_CORS_ALLOWED_ORIGINS": ("api", "cors", "allowed_origins"),
}
_NOT_SETTINGS = {"GENNAKER_CONFIG", "GENNAKER_ENDPOINT", "GENNAKER_TOKEN"}


def load_settings(
    config_path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read and validate the settings; raise ConfigError naming the bad setting."""
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    path = Path(config_path) if config_path else None
    if path is None and env.get("GENNAKER_CONFIG"):
        path = Path(env["GENNAKER_CONFIG"])
    if path is None and Path("gennaker.toml").is_file():
        path = Path("gennaker.toml")
    source = "defaults"
    if path is not None:
        data = _read_toml(path)
        source = str(path)
    for name, value in env.items():
        if not name.startswith("GENNAKER_") or name in _NOT_SETTINGS or name.startswith("GENNAKER_TEST_"):
            continue
        keys = _ENV_ALIASES.get(name)
        if keys is None:
            rest = name[len("GENNAKER_") :].lower()
            if "__" not in rest:
                continue
            keys = tuple(rest.split("__"))
        _set_path(data, keys, value)
    for dotted, value in (overrides or {}).items():
        _set_path(data, tuple(dotted.split(".")), value)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            problems.append(f"  {where}: {err['msg']}")
        raise ConfigError(
            f"invalid configuration (from {source} and GENNAKER_* variables):\n" + "\n".join(problems)
        ) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None


def _set_path(data: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    node = data
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"setting {'.'.join(keys)} conflicts with a value at {key!r}")
        node = child
    node[keys[-1]] = value
