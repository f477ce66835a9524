"""Generic webhook notifications: ``{type: "webhook", address: "https://..."}`` gets a JSON POST.

The body: ``when``, ``level``, ``application``, ``executionId``, ``executionType``,
``pipelineName``, ``pipelineConfigId``, ``status``, ``subject``, ``text``, ``link``, and for
stage notifications ``stageId``, ``stageName`` and ``stageType``.
"""

from __future__ import annotations

from gennaker.notify.base import ChannelContext, DeliveryError, post_json
from gennaker.notify.deliveries import Delivery


class WebhookChannel:
    """POSTs the notification as JSON to its address."""

    name = "webhook"

    async def send(self, delivery: Delivery, ctx: ChannelContext) -> None:
        """POST the delivery body to the address."""
        if not delivery.address:
            raise DeliveryError(
                "a webhook notification needs an address (the URL to POST to)", permanent=True
            )
        body = {k: v for k, v in delivery.body.items() if k != "repeat"}
        await post_json(
            ctx, delivery.address, body, what="the webhook", timeout_s=ctx.settings.webhook.timeout_seconds
        )
