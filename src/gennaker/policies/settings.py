"""The ``[policies]`` section: the rules and the OPA server they may ask."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gennaker.config import ConfigError, Settings

Scope = Literal["save", "start", "stage"]
SCOPES: tuple[Scope, ...] = ("save", "start", "stage")


class PolicyRule(BaseModel):
    """One ``[[policies.rules]]`` entry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    #: ``deny`` refuses the save, start or stage; ``warn`` records the message and lets it go on.
    effect: Literal["deny", "warn"] = "deny"
    #: Where it applies: when a pipeline or template is saved, when an execution starts, before a stage.
    scopes: tuple[Scope, ...] = SCOPES
    engine: Literal["cel", "opa"] = "cel"
    #: CEL: an expression over ``input`` and ``now`` that is true when the input complies.
    rule: str | None = None
    #: OPA: the data path asked (``POST /v1/data/<path>``), e.g. ``gennaker/deploys/allow``.
    path: str | None = None
    #: What a user is told when the rule does not hold.
    message: str = Field(min_length=1)
    description: str = ""

    @model_validator(mode="after")
    def _engine_fields(self) -> PolicyRule:
        if self.engine == "cel" and not self.rule:
            raise ValueError(
                f"policy {self.name}: a CEL policy needs 'rule' (an expression true when compliant)"
            )
        if self.engine == "opa" and not self.path:
            raise ValueError(f"policy {self.name}: an OPA policy needs 'path' (the data path to ask)")
        if not self.scopes:
            raise ValueError(f"policy {self.name}: 'scopes' must name at least one of save, start, stage")
        return self


class OpaSettings(BaseModel):
    """How OPA is reached."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str | None = None
    timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    #: What an unreachable or failing OPA server means: refuse (default) or let the save, start or
    #: stage go on.
    failure_mode: Literal["deny", "allow"] = "deny"


class PolicySettings(BaseModel):
    """The ``[policies]`` section."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: tuple[PolicyRule, ...] = ()
    opa: OpaSettings = OpaSettings()

    @model_validator(mode="after")
    def _consistent(self) -> PolicySettings:
        names = [r.name for r in self.rules]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"policy names repeat: {', '.join(repeated)}")
        if any(r.engine == "opa" for r in self.rules) and not self.opa.url:
            raise ValueError("OPA policies are configured but [policies.opa] url is not")
        return self


def policy_settings(settings: Settings) -> PolicySettings:
    """Validate ``settings.policies``; ConfigError names the bad key."""
    try:
        return PolicySettings.model_validate(dict(settings.policies))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            problems.append(f"  policies{'.' + where if where else ''}: {err['msg']}")
        raise ConfigError("invalid [policies] configuration:\n" + "\n".join(problems)) from None
