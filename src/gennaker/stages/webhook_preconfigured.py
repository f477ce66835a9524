"""Preconfigured webhooks: operator-defined webhook stage types (``[[webhook.preconfigured]]`` in
gennaker.toml). Each one is registered as its own stage type at start; a stage may also name it
as ``{type: "<custom>", alias: "preconfiguredWebhook"}`` (Deck's form).

At plan time every field the operator set overwrites the stage's context (the pipeline author
cannot change it), except ``customHeaders``: those are sent from the settings and never copied
into the execution (they often hold credentials). Missing ``parameterValues`` get the parameters'
``defaultValue``. The stage then
runs as a ``webhook``; its templates use ``${parameterValues['name']}``. A disabled or unknown type
fails the stage with a message. ``list_preconfigured`` answers ``GET /webhooks/preconfigured``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gennaker.config import ConfigError
from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Execution, Stage
from gennaker.stages._common import failed
from gennaker.stages.webhook import call_cancel_endpoint, webhook_tasks
from gennaker.stages.webhook_settings import PreconfiguredWebhook, WebhookSettings, webhook_settings

if TYPE_CHECKING:
    from gennaker.engine.contracts import EngineServices

ALIAS = "preconfiguredWebhook"
_CORE = ("url", "customHeaders", "method", "payload")
_MONITOR = (
    "statusUrlResolution",
    "statusJsonPath",
    "progressJsonPath",
    "successStatuses",
    "canceledStatuses",
    "terminalStatuses",
)


def apply_preconfigured(hook: PreconfiguredWebhook, context: dict[str, Any]) -> None:
    """Overwrite the context with the operator's fields; fill parameter defaults. The operator's
    headers stay out of the context (they often carry credentials): only their names are shown,
    as ``preconfiguredHeaders``, and the requests take them from the settings."""
    fields = hook.stage_fields()
    headers = fields.pop("customHeaders", None)
    context.update(fields)
    if headers:
        context.pop("customHeaders", None)
        context["preconfiguredHeaders"] = sorted(headers)
    values = context.get("parameterValues")
    values = dict(values) if isinstance(values, Mapping) else {}
    for parameter in hook.parameters:
        if parameter.name not in values and parameter.defaultValue is not None:
            values[parameter.name] = parameter.defaultValue
    context["parameterValues"] = values


class UnavailableWebhookTask(BaseTask):
    """Fails a stage whose preconfigured type is disabled or unknown."""

    pure = True

    def __init__(self, hooks: Mapping[str, PreconfiguredWebhook]) -> None:
        self.hooks = hooks

    async def execute(self, run: TaskRun) -> TaskResult:
        """Say which."""
        hook = self.hooks.get(run.stage.type)
        if hook is not None and not hook.enabled:
            return failed(f"The preconfigured webhook {run.stage.type!r} is disabled by the operator")
        return failed(
            f"There is no preconfigured webhook of type {run.stage.type!r} "
            "(see [[webhook.preconfigured]] in gennaker.toml)"
        )


class PreconfiguredWebhookStage(BaseStage):
    """A stage type for one preconfigured webhook, or (``hook=None``) the alias that looks the type up."""

    def __init__(
        self, type_name: str, hooks: Mapping[str, PreconfiguredWebhook], limits: WebhookSettings
    ) -> None:
        self.type = type_name
        self.hooks = hooks
        self.limits = limits

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """Apply the operator's fields, then plan like a webhook."""
        hook = self.hooks.get(stage.type)
        if hook is None or not hook.enabled:
            return [TaskSpec("preconfiguredWebhook", "unavailableWebhookTask")]
        apply_preconfigured(hook, stage.context)
        return webhook_tasks(stage.context)

    def prepare_for_restart(self, stage: Stage) -> None:
        """A restart calls the webhook again."""
        stage.context.pop("webhook", None)

    @property
    def cancellable(self) -> bool:
        """The cancel endpoint, when configured."""
        return True

    async def cancel(
        self, execution: Execution, stage: Stage, services: EngineServices
    ) -> Mapping[str, Any] | None:
        """Call ``cancelEndpoint``."""
        return await call_cancel_endpoint(execution, stage, services, self.limits)


def _described(hook: PreconfiguredWebhook) -> dict[str, Any]:
    properties = sorted(hook.stage_fields())
    required = set(_CORE)
    if hook.waitForCompletion:
        required |= set(_MONITOR)
        if hook.statusUrlResolution == "webhookResponse":
            required.add("statusUrlJsonPath")
    return {
        "type": hook.type,
        "label": hook.label or hook.type,
        "description": hook.description,
        "waitForCompletion": bool(hook.waitForCompletion),
        "preconfiguredProperties": properties,
        "noUserConfigurableFields": required <= set(properties),
        "parameters": [p.model_dump() for p in hook.parameters],
    }


def list_preconfigured(settings: Any) -> list[dict[str, Any]]:
    """The enabled preconfigured webhooks as ``GET /webhooks/preconfigured`` lists them (Orca's shape;
    URLs, headers and payloads are not shown)."""
    return [_described(hook) for hook in webhook_settings(settings).preconfigured if hook.enabled]


def register(registry: Registry, settings: Any) -> None:
    """Add the alias and one stage type per preconfigured webhook."""
    limits = webhook_settings(settings)
    hooks = {hook.type: hook for hook in limits.preconfigured}
    registry.add_task("unavailableWebhookTask", UnavailableWebhookTask(hooks))
    registry.add_stage(PreconfiguredWebhookStage(ALIAS, hooks, limits))
    for name in hooks:
        if registry.has_stage(name):
            raise ConfigError(
                f"invalid configuration: webhook.preconfigured type {name!r} is already a stage type"
            )
        registry.add_stage(PreconfiguredWebhookStage(name, hooks, limits))
