"""Slack through incoming webhooks: ``{type: "slack", address: "#channel"}``.

The webhook URL comes from the settings (``[notifications.slack] webhook_url``, or the address's
own entry under ``[notifications.slack.channels]``), never from the pipeline, so it appears in no
execution, event or log.
"""

from __future__ import annotations

from gennaker.notify.base import ChannelContext, DeliveryError, post_json
from gennaker.notify.deliveries import Delivery


def message(delivery: Delivery) -> dict[str, object]:
    """The Slack message: the text, with a link to the execution."""
    body = delivery.body
    text = str(body.get("text") or body.get("subject") or "")
    link = body.get("link")
    if link:
        text += f"\n<{link}|View execution {body.get('executionId')}>"
    out: dict[str, object] = {"text": text}
    if delivery.address:
        out["channel"] = delivery.address
    return out


class SlackChannel:
    """Sends to Slack incoming webhooks."""

    name = "slack"

    async def send(self, delivery: Delivery, ctx: ChannelContext) -> None:
        """POST the message to the address's webhook."""
        slack = ctx.settings.slack
        url = slack.url_for(delivery.address)
        if url is None:
            raise DeliveryError(
                f"no Slack webhook URL is configured for {delivery.address or 'the default channel'} "
                "([notifications.slack] webhook_url or channels)",
                permanent=True,
            )
        await post_json(
            ctx, url.get_secret_value(), message(delivery), what="Slack", timeout_s=slack.timeout_seconds
        )
