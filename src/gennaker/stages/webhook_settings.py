"""The ``[webhook]`` section of gennaker.toml, validated here (Settings keeps it as a free mapping).

    [webhook]
    connect_timeout_seconds = 15
    read_timeout_seconds = 20
    max_response_bytes = 1000000
    default_retry_status_codes = [429]

    [[webhook.preconfigured]]
    type = "notifyDeployTracker"
    label = "Notify the deploy tracker"
    url = "https://tracker.example.com/deploys"
    method = "POST"
    payload = '{"app": "${execution.application}", "env": "${parameterValues[''env'']}"}'
    parameters = [{ name = "env", label = "Environment", defaultValue = "prod" }]

Preconfigured webhooks use Spinnaker's field names (what Orca's ``webhook.preconfigured`` takes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gennaker.config import ConfigError

StatusUrlResolution = Literal["getMethod", "locationHeader", "webhookResponse"]
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
#: The fields of a preconfigured webhook that overwrite the stage's context when set.
STAGE_FIELDS = (
    "url",
    "method",
    "customHeaders",
    "payload",
    "waitForCompletion",
    "statusUrlResolution",
    "statusUrlJsonPath",
    "statusJsonPath",
    "progressJsonPath",
    "successStatuses",
    "canceledStatuses",
    "terminalStatuses",
    "failFastStatusCodes",
    "signalCancellation",
    "cancelEndpoint",
    "cancelMethod",
    "cancelPayload",
)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PreconfiguredParameter(_Model):
    """A value the pipeline author supplies (``parameterValues[name]``)."""

    name: str = Field(min_length=1)
    label: str | None = None
    description: str | None = None
    type: str = "string"
    defaultValue: Any = None


class PreconfiguredWebhook(_Model):
    """An operator-defined webhook stage type."""

    type: str = Field(min_length=1, pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$")
    label: str | None = None
    description: str | None = None
    enabled: bool = True
    url: str | None = None
    method: str | None = None
    customHeaders: dict[str, Any] | None = None
    payload: Any = None
    parameters: tuple[PreconfiguredParameter, ...] = ()
    waitForCompletion: bool | None = None
    statusUrlResolution: StatusUrlResolution | None = None
    statusUrlJsonPath: str | None = None
    statusJsonPath: str | None = None
    progressJsonPath: str | None = None
    successStatuses: str | None = None
    canceledStatuses: str | None = None
    terminalStatuses: str | None = None
    failFastStatusCodes: tuple[int, ...] | None = None
    signalCancellation: bool | None = None
    cancelEndpoint: str | None = None
    cancelMethod: str | None = None
    cancelPayload: Any = None
    #: ``{READ: [roles], WRITE: [roles]}``; kept for the authorization layer.
    permissions: dict[str, tuple[str, ...]] | None = None

    @field_validator("method", "cancelMethod")
    @classmethod
    def _known_method(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in METHODS:
            raise ValueError(f"must be one of {', '.join(METHODS)}")
        return value.upper() if value is not None else None

    def stage_fields(self) -> dict[str, Any]:
        """The fields that are set, which overwrite the stage's context."""
        values = {name: getattr(self, name) for name in STAGE_FIELDS}
        out = {name: value for name, value in values.items() if value is not None}
        if "failFastStatusCodes" in out:
            out["failFastStatusCodes"] = list(out["failFastStatusCodes"])
        return out


class WebhookSettings(_Model):
    """Limits of webhook stages and the preconfigured webhook types."""

    connect_timeout_seconds: float = Field(default=15.0, gt=0)
    read_timeout_seconds: float = Field(default=20.0, gt=0)
    max_response_bytes: int = Field(default=1_000_000, ge=1_024)
    #: Create-phase status codes retried besides 5xx (Orca's webhook.defaultRetryStatusCodes).
    default_retry_status_codes: tuple[int, ...] = (429,)
    preconfigured: tuple[PreconfiguredWebhook, ...] = ()

    def hook_for(self, stage_type: str) -> PreconfiguredWebhook | None:
        """The preconfigured webhook a stage type names, if any."""
        return next((hook for hook in self.preconfigured if hook.type == stage_type), None)

    @field_validator("preconfigured")
    @classmethod
    def _unique_types(cls, value: tuple[PreconfiguredWebhook, ...]) -> tuple[PreconfiguredWebhook, ...]:
        seen: set[str] = set()
        for hook in value:
            if hook.type in seen:
                raise ValueError(f"type {hook.type!r} is defined twice")
            seen.add(hook.type)
        return value


def webhook_settings(settings: Any) -> WebhookSettings:
    """The validated ``[webhook]`` section; ConfigError names the bad setting."""
    section = getattr(settings, "webhook", None) or {}
    if not isinstance(section, Mapping):
        raise ConfigError("invalid configuration: webhook must be a table")
    try:
        return WebhookSettings.model_validate(dict(section))
    except ValidationError as exc:
        problems = [f"  webhook.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise ConfigError("invalid configuration:\n" + "\n".join(problems)) from None
