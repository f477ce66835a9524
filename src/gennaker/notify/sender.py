"""Sends queued notifications, outside every pipeline's transactions: a channel that is down or
slow delays only its own deliveries, which are retried with exponential backoff up to
``max_attempts`` and then given up. Each outcome is an event (``notification.sent`` or
``notification.failed`` with ``willRetry``).

A ``manualJudgment`` notification with ``notifyEveryMs`` queues its next reminder once sent; the
reminder is skipped when the stage no longer waits for a judgment.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
from sqlalchemy.engine import Connection

from gennaker import events
from gennaker.notify import deliveries
from gennaker.notify.base import Channel, ChannelContext, DeliveryError
from gennaker.notify.deliveries import Delivery
from gennaker.notify.email import EmailChannel
from gennaker.notify.planner import still_waiting
from gennaker.notify.settings import NotificationSettings, notification_settings
from gennaker.notify.slack import SlackChannel
from gennaker.notify.webhook import WebhookChannel
from gennaker.outbound import OutboundPolicy

if TYPE_CHECKING:
    from gennaker.services import Services

log = logging.getLogger(__name__)


def default_channels() -> dict[str, Channel]:
    """The built-in channels by notification ``type``."""
    return {c.name: c for c in (SlackChannel(), EmailChannel(), WebhookChannel())}


class NotificationSender:
    """Claims due deliveries and sends them, a few at a time."""

    def __init__(
        self,
        services: Services,
        *,
        channels: dict[str, Channel] | None = None,
        settings: NotificationSettings | None = None,
        concurrency: int = 8,
    ) -> None:
        self.services = services
        self.settings = settings or notification_settings(services.settings)
        outbound = services.settings.outbound
        self.transport = httpx.AsyncHTTPTransport(trust_env=False)
        self.context = ChannelContext(
            self.settings, OutboundPolicy(outbound.allow, outbound.deny), self.transport
        )
        self.channels = channels if channels is not None else default_channels()
        services.plugins.hook.register_notifiers(registry=self.channels, settings=services.settings)
        self.concurrency = concurrency

    async def aclose(self) -> None:
        """Close the connections of the HTTP transport."""
        await self.transport.aclose()

    async def run_once(self) -> int:
        """Send what is due now; returns how many deliveries were attempted."""
        if not self.settings.enabled:
            return 0
        now = self.services.clock.now_ms()

        def claim() -> list[Delivery]:
            with self.services.db.transaction() as conn:
                return deliveries.claim_due(conn, now, self.concurrency)

        due = await asyncio.to_thread(claim)
        await asyncio.gather(*(self._send(d) for d in due))
        return len(due)

    async def _send(self, delivery: Delivery) -> None:
        repeat = delivery.body.get("repeat")
        if (
            isinstance(repeat, dict)
            and int(repeat.get("sequence", 0)) > 0
            and not await asyncio.to_thread(self._still_waiting, delivery)
        ):
            await asyncio.to_thread(self._settle, delivery, deliveries.SKIPPED, None)
            return
        channel = self.channels.get(delivery.channel)
        try:
            if channel is None:
                known = ", ".join(sorted(self.channels))
                raise DeliveryError(
                    f"unknown notification type {delivery.channel!r} (known: {known})", permanent=True
                )
            await channel.send(delivery, self.context)
        except DeliveryError as exc:
            await asyncio.to_thread(self._failed, delivery, exc)
            return
        except Exception as exc:  # a channel bug must not stop the other deliveries
            log.exception("notification channel %s failed", delivery.channel)
            await asyncio.to_thread(self._failed, delivery, DeliveryError(f"{type(exc).__name__}: {exc}"))
            return
        await asyncio.to_thread(self._settle, delivery, deliveries.SENT, None)

    def _still_waiting(self, delivery: Delivery) -> bool:
        with self.services.db.read() as conn:
            execution = self.services.executions.find(conn, str(delivery.execution_id))
        return still_waiting(execution, str(delivery.body.get("stageId")))

    def _summary(self, delivery: Delivery) -> dict[str, object]:
        body = delivery.body
        return {
            "deliveryId": delivery.id,
            "notificationType": delivery.channel,
            "address": delivery.address if delivery.channel != "webhook" else _host_only(delivery.address),
            "when": body.get("when"),
            "application": delivery.application,
            "executionId": delivery.execution_id,
            "stageId": body.get("stageId"),
            "attempt": delivery.attempts,
        }

    def _settle(self, delivery: Delivery, status: str, error: str | None) -> None:
        now = self.services.clock.now_ms()
        with self.services.db.transaction() as conn:
            deliveries.settle(conn, delivery.id, status, now, error)
            if status == deliveries.SENT:
                events.record(
                    conn, ts=now, type_=events.NOTIFICATION_SENT, application=delivery.application,
                    execution_id=delivery.execution_id, body=self._summary(delivery),
                )  # fmt: skip
                self._queue_reminder(conn, delivery, now)

    def _failed(self, delivery: Delivery, error: DeliveryError) -> None:
        now = self.services.clock.now_ms()
        retry = not error.permanent and delivery.attempts < self.settings.max_attempts
        log.warning("notification %s (%s) failed: %s", delivery.id, delivery.channel, error.message)
        with self.services.db.transaction() as conn:
            if retry:
                at = now + self.settings.backoff_ms(delivery.attempts)
                deliveries.retry_later(conn, delivery.id, at, error.message, now)
            else:
                deliveries.settle(conn, delivery.id, deliveries.FAILED, now, error.message)
            body = {**self._summary(delivery), "error": error.message, "willRetry": retry}
            if retry:
                body["nextAttemptAt"] = now + self.settings.backoff_ms(delivery.attempts)
            events.record(
                conn, ts=now, type_=events.NOTIFICATION_FAILED, application=delivery.application,
                execution_id=delivery.execution_id, body=body,
            )  # fmt: skip

    def _queue_reminder(self, conn: Connection, delivery: Delivery, now: int) -> None:
        repeat = delivery.body.get("repeat")
        if not isinstance(repeat, dict) or int(repeat.get("everyMs", 0)) <= 0:
            return
        sequence = int(repeat.get("sequence", 0)) + 1
        body = {**delivery.body, "repeat": {**repeat, "sequence": sequence}}
        base_key = delivery.dedup_key.split("#", 1)[0]
        deliveries.enqueue(
            conn,
            dedup_key=f"{base_key}#{sequence}"[:255], channel=delivery.channel, address=delivery.address,
            application=delivery.application, execution_id=delivery.execution_id, event_type=delivery.event_type,
            body=body, now=now, due_at=now + int(repeat["everyMs"]),
        )  # fmt: skip


def _host_only(url: str | None) -> str | None:
    """A webhook address for the event log: scheme and host, not the path (which may hold a token)."""
    if not url:
        return url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" if parts.hostname else None
