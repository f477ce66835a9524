"""The waiting half of the webhook stage: ``waitBeforeMonitor`` and the status poll.

The monitor GETs ``webhook.statusEndpoint`` (or, with ``monitorOnly``, ``statusEndpoint``/``url``)
with the stage's ``customHeaders``. Without ``statusJsonPath`` the first 2xx ends it SUCCEEDED.
With it, the value found there decides: a number is percent complete (100 -> SUCCEEDED), a text is
looked up in ``successStatuses`` / ``canceledStatuses`` / ``terminalStatuses`` (comma lists, any
case); no match -> poll again. ``progressJsonPath`` must give a text, kept as
``webhook.monitor.progressMessage``. 5xx, 429 and ``retryStatusCodes`` are retried; ``retries``
(``{"503": {"maxAttempts": 3}}``) caps how often one code may come back, counted in
``webhook.monitor.pastStatusCodes``. Polls every second for the first minute, then every 15 s;
the 1-hour timeout is replaced by ``stageTimeoutMs``.
"""

from __future__ import annotations

from typing import Any

from gennaker.engine.contracts import BaseTask, TaskResult, TaskRun
from gennaker.model.status import ExecutionStatus as S
from gennaker.stages._common import as_bool, as_int, as_number, failed
from gennaker.stages.webhook_http import Answer, RequestFailed, policy_of, request_headers, send
from gennaker.stages.webhook_jsonpath import InvalidJsonPath, NotJson, PathNotFound, read
from gennaker.stages.webhook_settings import WebhookSettings

_FAST_MS = 1_000
_SLOW_MS = 15_000
_FAST_FOR_MS = 60_000


def codes(value: Any, default: list[int] | None = None) -> list[int]:
    """Status codes from a list (ints or texts) or a comma list; ``default`` when absent."""
    if value is None:
        return list(default or [])
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else [value]
    return [code for code in (as_int(item) for item in items) if code is not None]


def status_list(value: Any) -> list[str]:
    """A comma list (or a list) of statuses, lower-cased."""
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return [str(item).strip().lower() for item in items if str(item).strip()]


def retry_budgets(value: Any) -> dict[int, int]:
    """``retries``: ``{"503": {"maxAttempts": 3}}`` -> ``{503: 3}``."""
    budgets: dict[int, int] = {}
    if isinstance(value, dict):
        for code, rule in value.items():
            attempts = as_int(rule.get("maxAttempts")) if isinstance(rule, dict) else as_int(rule)
            number = as_int(code)
            if number is not None and attempts is not None:
                budgets[number] = attempts
    return budgets


def response_fields(answer: Answer) -> dict[str, Any]:
    """What a response contributes to ``context.webhook`` (and to ``webhook.monitor``)."""
    fields: dict[str, Any] = {
        "statusCode": answer.status_name,
        "statusCodeValue": answer.status,
        "headers": answer.headers,
    }
    if answer.body is not None:
        fields["body"] = answer.body
    return fields


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class WaitBeforeMonitorTask(BaseTask):
    """Waits ``waitBeforeMonitor`` seconds after the webhook was called."""

    pure = True

    async def execute(self, run: TaskRun) -> TaskResult:
        """Check the clock."""
        seconds = as_number(run.context.get("waitBeforeMonitor")) or 0
        remaining = run.task_start_time + int(seconds * 1000) - run.now_ms
        return TaskResult.succeeded() if remaining <= 0 else TaskResult.running(backoff_ms=remaining)


class MonitorWebhookTask(BaseTask):
    """Polls the status URL until it reports an end."""

    pure = False
    backoff_ms = _FAST_MS
    timeout_ms: int | None = 3600 * 1000
    overridable_timeout = True

    def __init__(self, limits: WebhookSettings) -> None:
        self.limits = limits

    def _backoff(self, run: TaskRun) -> int:
        return _FAST_MS if run.now_ms - run.task_start_time < _FAST_FOR_MS else _SLOW_MS

    async def execute(self, run: TaskRun) -> TaskResult:
        """One poll."""
        ctx = run.context
        webhook = dict(run.stage.context.get("webhook") or {})
        endpoint = webhook.get("statusEndpoint") or ctx.get("statusEndpoint")
        if not endpoint and as_bool(ctx.get("monitorOnly"), False):
            endpoint = ctx.get("url")
        if not endpoint or not isinstance(endpoint, str):
            return failed("The webhook has no status URL to poll (statusEndpoint, or url with monitorOnly)")
        webhook["statusEndpoint"] = endpoint
        past = list((webhook.get("monitor") or {}).get("pastStatusCodes") or [])
        monitor: dict[str, Any] = {"pastStatusCodes": past}
        webhook["monitor"] = monitor
        try:
            answer = await send(
                policy_of(run.services.settings),
                self.limits,
                "GET",
                endpoint,
                headers=request_headers(run.services, self.limits, run.execution, run.stage, ctx),
            )
        except RequestFailed as exc:
            monitor["error"] = exc.message
            if exc.retryable:
                return TaskResult.running({"webhook": webhook}, backoff_ms=self._backoff(run))
            return failed(exc.message, {"webhook": webhook})
        past.append(answer.status)
        monitor.update(response_fields(answer))
        if answer.status >= 400:
            return self._failed_status(run, answer.status, endpoint, webhook)
        return self._judge(run, answer, webhook)

    def _failed_status(self, run: TaskRun, code: int, endpoint: str, webhook: dict[str, Any]) -> TaskResult:
        monitor = webhook["monitor"]
        budgets = retry_budgets(run.context.get("retries"))
        retryable = (
            code >= 500
            or code == 429
            or code in codes(run.context.get("retryStatusCodes"))
            or code in budgets
        )
        if retryable:
            seen = monitor["pastStatusCodes"].count(code)
            budget = budgets.get(code)
            if budget is not None and seen >= budget:
                message = (
                    f"Giving up on the webhook status at {endpoint}: status code {code} came back "
                    f"{seen} times (retries allow {budget} attempts)"
                )
                monitor["error"] = message
                return failed(message, {"webhook": webhook})
            monitor["error"] = f"Status code {code} from {endpoint}; will retry"
            return TaskResult.running({"webhook": webhook}, backoff_ms=self._backoff(run))
        message = f"Invalid status code {code} while monitoring the webhook at {endpoint}"
        monitor["error"] = message
        return failed(message, {"webhook": webhook})

    def _judge(self, run: TaskRun, answer: Answer, webhook: dict[str, Any]) -> TaskResult:
        ctx = run.context
        monitor = webhook["monitor"]
        status_path = ctx.get("statusJsonPath")
        if not status_path:
            return TaskResult.succeeded({"webhook": webhook})
        try:
            value = read(answer.body, str(status_path), "statusJsonPath")
            if not isinstance(value, (str, int, float, bool)):
                raise PathNotFound(f"statusJsonPath {status_path!r} did not resolve to a single value")
            progress_path = ctx.get("progressJsonPath")
            if progress_path:
                progress = read(answer.body, str(progress_path), "progressJsonPath")
                if not isinstance(progress, str):
                    raise PathNotFound(f"progressJsonPath {progress_path!r} did not resolve to a text")
                monitor["progressMessage"] = progress
        except (InvalidJsonPath, PathNotFound, NotJson) as exc:
            message = f"Unable to read the webhook status: {exc}"
            monitor["error"] = message
            return failed(message, {"webhook": webhook})
        monitor["resolvedValue"] = value
        context = {"webhook": webhook}
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            monitor["percentComplete"] = value
            if value == 100:
                return TaskResult.succeeded(context)
            return TaskResult.running(context, backoff_ms=self._backoff(run))
        text = _text(value).strip().lower()
        if text in status_list(ctx.get("successStatuses")):
            return TaskResult.succeeded(context)
        if text in status_list(ctx.get("canceledStatuses")):
            return TaskResult(S.CANCELED, context)
        if text in status_list(ctx.get("terminalStatuses")):
            return failed(f"The webhook reported the terminal status {_text(value)!r}", context)
        return TaskResult.running(context, backoff_ms=self._backoff(run))

    async def on_timeout(self, run: TaskRun) -> TaskResult | None:
        """Say what the status URL last did."""
        if run.context.get("markSuccessfulOnTimeout") is True:
            return None
        webhook = dict(run.stage.context.get("webhook") or {})
        monitor = dict(webhook.get("monitor") or {})
        last = monitor.get("error") or (
            f"last status {monitor['resolvedValue']!r}" if "resolvedValue" in monitor else "no final status"
        )
        message = f"The webhook status at {webhook.get('statusEndpoint') or run.context.get('url')} did not report completion in time ({last})"
        monitor["error"] = message
        webhook["monitor"] = monitor
        result = failed(message, {"webhook": webhook}, exception_type="TimeoutException")
        return result
