"""The ``[canary]`` settings: metrics accounts (Kayenta's ``kayenta.prometheus.accounts``) and whether
the standalone analysis API is on.

    [[canary.accounts]]
    name = "prometheus"
    type = "prometheus"
    endpoint = "http://127.0.0.1:9090"
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gennaker.config import ConfigError, Settings


class MetricsAccount(BaseModel):
    """One metrics account."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    type: Literal["prometheus"] = "prometheus"
    endpoint: str = Field(min_length=1)
    #: The label a gce_instance scope matches (Kayenta's ``scopeLabel``).
    scope_label: str = "instance"
    timeout_seconds: float = Field(default=30.0, gt=0)


class CanarySettings(BaseModel):
    """The canary section."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    accounts: tuple[MetricsAccount, ...] = ()
    #: Kayenta's ``kayenta.standalone-canary-analysis.enabled`` (on here: it is the same engine).
    standalone_canary_analysis_enabled: bool = True


def canary_settings(settings: Settings | Any) -> CanarySettings:
    """The validated section (ConfigError naming the bad key)."""
    raw = getattr(settings, "canary", None) or {}
    try:
        return CanarySettings.model_validate(dict(raw))
    except ValidationError as exc:
        problems = "; ".join(f"canary.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid canary settings: {problems}") from None
