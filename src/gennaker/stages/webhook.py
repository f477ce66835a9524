"""``webhook`` (Spinnaker's orca-webhook): call a URL, optionally wait for the work it started.

Create: ``method`` (POST) ``url`` with ``payload`` and ``customHeaders`` (``{name: value or
[values]}``). A status in ``failFastStatusCodes`` ([504] by default) ends the stage TERMINAL at
once; 5xx, 429 (``[webhook] default_retry_status_codes``) and ``webhookRetryStatusCodes`` are
retried every 10 s for up to 5 minutes, as are unresolvable hosts and timeouts that cannot have
delivered the request twice; other 4xx fail. With ``waitForCompletion``, the status URL comes from
``statusUrlResolution``: ``getMethod`` (the same url), ``locationHeader`` or ``webhookResponse``
(``statusUrlJsonPath`` over the response), and the monitor (webhook_monitor.py) polls it.

Every outbound call goes through the outbound policy (purpose "webhook") with the ``[webhook]``
connect/read timeouts and response size limit. Results: ``context.webhook = {statusCode,
statusCodeValue, headers, body, error, statusEndpoint, monitor: {...}}``.

When the stage is canceled or fails, ``cancelEndpoint`` (``cancelMethod`` POST,
``cancelPayload``, the same headers) is called, best effort.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Execution, Stage
from gennaker.stages._common import as_bool, as_number, failed
from gennaker.stages.webhook_http import Answer, RequestFailed, policy_of, request_headers, send
from gennaker.stages.webhook_jsonpath import InvalidJsonPath, NotJson, PathNotFound, read
from gennaker.stages.webhook_monitor import (
    MonitorWebhookTask,
    WaitBeforeMonitorTask,
    codes,
    response_fields,
)
from gennaker.stages.webhook_settings import WebhookSettings, webhook_settings

if TYPE_CHECKING:
    from gennaker.engine.contracts import EngineServices


def status_url(context: Mapping[str, Any], url: str, answer: Answer) -> str:
    """Where to poll, per ``statusUrlResolution``; ValueError/LookupError say why there is none."""
    mode = context.get("statusUrlResolution") or "getMethod"
    if mode == "getMethod":
        found: Any = url
    elif mode == "locationHeader":
        found = answer.header("Location")
        if not found:
            raise LookupError("the response has no Location header")
    elif mode == "webhookResponse":
        path = context.get("statusUrlJsonPath")
        if not path:
            raise ValueError("statusUrlResolution webhookResponse needs statusUrlJsonPath")
        found = read(answer.body, str(path), "statusUrlJsonPath")
        if not isinstance(found, str) or not found:
            raise LookupError(f"statusUrlJsonPath {path!r} did not resolve to a URL")
    else:
        raise ValueError(f"unknown statusUrlResolution {mode!r} (getMethod, locationHeader, webhookResponse)")
    resolved = urlsplit(urljoin(url, str(found)))
    original = urlsplit(url)
    if resolved.hostname == original.hostname and resolved.scheme != original.scheme:
        resolved = resolved._replace(scheme=original.scheme)  # behind a TLS-terminating proxy
    return urlunsplit(resolved)


class CreateWebhookTask(BaseTask):
    """Makes the call."""

    pure = False
    backoff_ms = 10_000
    timeout_ms: int | None = 5 * 60 * 1000

    def __init__(self, limits: WebhookSettings) -> None:
        self.limits = limits

    async def execute(self, run: TaskRun) -> TaskResult:
        """Call ``url``; decide from the answer."""
        ctx = run.context
        url = ctx.get("url")
        if not url or not isinstance(url, str):
            return failed("The webhook stage needs a url")
        method = str(ctx.get("method") or "POST").upper()
        webhook: dict[str, Any] = {}
        try:
            answer = await send(
                policy_of(run.services.settings),
                self.limits,
                method,
                url,
                headers=request_headers(run.services, self.limits, run.execution, run.stage, ctx),
                payload=ctx.get("payload"),
            )
        except RequestFailed as exc:
            webhook["error"] = exc.message
            if exc.retryable:
                return TaskResult.running({"webhook": webhook})
            return failed(exc.message, {"webhook": webhook})
        webhook.update(response_fields(answer))
        code = answer.status
        if code >= 400:
            return self._failed_status(run, code, url, webhook)
        if as_bool(ctx.get("waitForCompletion"), False):
            try:
                webhook["statusEndpoint"] = status_url(ctx, url, answer)
            except (ValueError, LookupError, NotJson, InvalidJsonPath, PathNotFound) as exc:
                message = f"Exception while resolving the status check URL: {exc}"
                webhook["error"] = message
                return failed(message, {"webhook": webhook})
            return TaskResult.succeeded({"webhook": webhook})
        return self._artifacts(ctx, answer, webhook)

    def _failed_status(self, run: TaskRun, code: int, url: str, webhook: dict[str, Any]) -> TaskResult:
        ctx = run.context
        retry = set(codes(ctx.get("webhookRetryStatusCodes"))) | set(self.limits.default_retry_status_codes)
        if code in codes(ctx.get("failFastStatusCodes"), default=[504]):
            message = f"Received status code {code} from {url}, which is configured to fail fast; terminating the stage"
        elif code >= 500 or code in retry:
            webhook["error"] = (
                f"Error submitting webhook for pipeline {run.execution.id} to {url} "
                f"with status code {code}, will retry"
            )
            return TaskResult.running({"webhook": webhook})
        else:
            message = (
                f"Error submitting webhook for pipeline {run.execution.id} to {url} with status code {code}"
            )
        webhook["error"] = message
        return failed(message, {"webhook": webhook})

    def _artifacts(self, ctx: Mapping[str, Any], answer: Answer, webhook: dict[str, Any]) -> TaskResult:
        if not ctx.get("expectedArtifacts"):
            return TaskResult.succeeded({"webhook": webhook})
        try:
            artifacts = read(answer.body, "$.artifacts", "artifacts")
        except (NotJson, PathNotFound, InvalidJsonPath) as exc:
            message = f"Expected artifacts in the webhook response could not be read: {exc}"
            webhook["error"] = message
            return failed(message, {"webhook": webhook})
        return TaskResult.succeeded({"webhook": webhook, "artifacts": artifacts}, {"artifacts": artifacts})

    async def on_timeout(self, run: TaskRun) -> TaskResult | None:
        """Say why the call never went through."""
        if run.context.get("markSuccessfulOnTimeout") is True:
            return None
        webhook = dict(run.stage.context.get("webhook") or {})
        last = webhook.get("error") or "no answer"
        message = f"The webhook call to {run.context.get('url')} did not succeed within 5 minutes ({last})"
        webhook["error"] = message
        return failed(message, {"webhook": webhook}, exception_type="TimeoutException")


def webhook_tasks(context: Mapping[str, Any]) -> list[TaskSpec]:
    """create -> [waitBeforeMonitor] -> monitor, as the context asks."""
    monitor_only = as_bool(context.get("monitorOnly"), False)
    tasks = [] if monitor_only else [TaskSpec("createWebhook", "createWebhookTask")]
    if monitor_only or as_bool(context.get("waitForCompletion"), False):
        if (as_number(context.get("waitBeforeMonitor")) or 0) > 0:
            tasks.append(TaskSpec("waitBeforeMonitorWebhook", "waitBeforeMonitorWebhookTask"))
        tasks.append(TaskSpec("monitorWebhook", "monitorWebhookTask"))
    return tasks


async def call_cancel_endpoint(
    execution: Execution, stage: Stage, services: EngineServices, limits: WebhookSettings
) -> Mapping[str, Any] | None:
    """Best-effort call of ``cancelEndpoint`` (errors are raised and recorded by the engine)."""
    context = services.evaluator.task_context(execution, stage)
    endpoint = context.get("cancelEndpoint")
    if not endpoint or not isinstance(endpoint, str):
        return None
    method = str(context.get("cancelMethod") or "POST")
    try:
        answer = await send(
            policy_of(services.settings),
            limits,
            method,
            endpoint,
            headers=request_headers(services, limits, execution, stage, context),
            payload=context.get("cancelPayload"),
        )
    except RequestFailed as exc:
        raise RuntimeError(exc.message) from None
    return {"cancelEndpoint": endpoint, "statusCode": answer.status}


class WebhookStage(BaseStage):
    """Calls a URL and optionally waits."""

    type = "webhook"

    def __init__(self, limits: WebhookSettings) -> None:
        self.limits = limits

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """create, wait, monitor as configured."""
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


def register(registry: Registry, settings: Any) -> None:
    """Add the webhook stage type and its tasks."""
    limits = webhook_settings(settings)
    registry.add_task("createWebhookTask", CreateWebhookTask(limits))
    registry.add_task("waitBeforeMonitorWebhookTask", WaitBeforeMonitorTask())
    registry.add_task("monitorWebhookTask", MonitorWebhookTask(limits))
    registry.add_stage(WebhookStage(limits))
