"""Email over SMTP: ``{type: "email", address: "a@example.com,b@example.com", cc: "..."}``.

Connects to ``[notifications.email] host:port``, upgrades with STARTTLS (``starttls = true``, the
default; a server that does not offer it is an error, not a reason to send credentials in clear),
or uses TLS from the start (``ssl = true``), authenticates when ``username`` is set, and sends a
plain-text message whose subject says what happened.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

from gennaker.notify.base import ChannelContext, DeliveryError
from gennaker.notify.deliveries import Delivery
from gennaker.notify.settings import EmailSettings


def build_message(delivery: Delivery, sender: str) -> EmailMessage:
    """The email for one delivery."""
    body = delivery.body
    message = EmailMessage()
    message["Subject"] = f"[Gennaker] {body.get('subject') or body.get('when')}"
    message["From"] = sender
    message["To"] = ", ".join(_recipients(delivery.address))
    if body.get("cc"):
        message["Cc"] = ", ".join(_recipients(str(body["cc"])))
    text = str(body.get("text") or "")
    if body.get("link"):
        text += f"\n\n{body['link']}"
    message.set_content(text + "\n")
    return message


def _recipients(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").replace(";", ",").split(",") if part.strip()]


def _tls_context(settings: EmailSettings) -> ssl.SSLContext:
    return (
        ssl.create_default_context(cafile=settings.ca_file)
        if settings.ca_file
        else ssl.create_default_context()
    )


def send_sync(settings: EmailSettings, message: EmailMessage) -> None:
    """Send over SMTP (blocking); DeliveryError on failure."""
    if not settings.host:
        raise DeliveryError("no SMTP server is configured ([notifications.email] host)", permanent=True)
    try:
        client: smtplib.SMTP
        if settings.ssl:
            client = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout_seconds, context=_tls_context(settings)
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
        with client:
            client.ehlo()
            if settings.starttls and not settings.ssl:
                if not client.has_extn("starttls"):
                    raise DeliveryError(
                        f"the SMTP server {settings.host} does not offer STARTTLS", permanent=True
                    )
                client.starttls(context=_tls_context(settings))
                client.ehlo()
            if settings.username:
                password = settings.password.get_secret_value() if settings.password else ""
                client.login(settings.username, password)
            client.send_message(message)
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"the SMTP server refused the login: {exc.smtp_code}", permanent=True) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(
            f"the SMTP server refused the recipients {sorted(exc.recipients)}", permanent=True
        ) from None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise DeliveryError(
            f"cannot send through {settings.host}:{settings.port}: {type(exc).__name__}: {exc}"
        ) from None


class EmailChannel:
    """Sends email through the configured SMTP server."""

    name = "email"

    async def send(self, delivery: Delivery, ctx: ChannelContext) -> None:
        """Send the delivery as an email to its address (and cc)."""
        settings = ctx.settings.email
        if not _recipients(delivery.address):
            raise DeliveryError("an email notification needs an address", permanent=True)
        message = build_message(delivery, settings.from_address)
        await asyncio.to_thread(send_sync, settings, message)
