"""The ``[notifications]`` section of gennaker.toml, validated here (Settings keeps it as a free
mapping owned by this package).

```toml
[notifications]
max_attempts = 6            # sends of one notification before it is given up
backoff_seconds = 10        # first retry delay; doubles up to max_backoff_seconds

[notifications.slack]
webhook_url = "https://hooks.slack.com/services/T000/B000/XXXX"   # default incoming webhook
[notifications.slack.channels]                                      # per-address webhooks
"#deploys" = "https://hooks.slack.com/services/T000/B111/YYYY"

[notifications.email]
host = "smtp.example.com"
port = 587
username = "gennaker"
password = "..."            # or GENNAKER_NOTIFICATIONS__EMAIL__PASSWORD
from = "gennaker@example.com"
starttls = true
```

Secrets (webhook URLs, the SMTP password) are ``SecretStr``: they print as ``**********``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from gennaker.config import ConfigError, Settings


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class SlackSettings(_Section):
    """Slack incoming webhooks."""

    webhook_url: SecretStr | None = None
    #: Address (``#channel``) -> incoming-webhook URL, for channels with their own webhook.
    channels: dict[str, SecretStr] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=10.0, gt=0)

    def url_for(self, address: str | None) -> SecretStr | None:
        """The webhook URL for an address: its own, else the default."""
        if address:
            for key in (address, address.lstrip("#"), "#" + address.lstrip("#")):
                if key in self.channels:
                    return self.channels[key]
        return self.webhook_url


class EmailSettings(_Section):
    """SMTP."""

    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    from_address: str = Field(default="gennaker@localhost", alias="from")
    #: Upgrade the connection with STARTTLS before authenticating (refuse to go on without it).
    starttls: bool = True
    #: Connect with TLS from the start (SMTPS, usually port 465) instead of STARTTLS.
    ssl: bool = False
    #: A CA bundle to verify the server's certificate with (default: the system's).
    ca_file: str | None = None
    timeout_seconds: float = Field(default=15.0, gt=0)


class WebhookNotificationSettings(_Section):
    """Generic JSON webhooks (the URL is the notification's ``address``)."""

    timeout_seconds: float = Field(default=10.0, gt=0)


class NotificationSettings(_Section):
    """Everything notifiers read."""

    enabled: bool = True
    max_attempts: int = Field(default=6, ge=1, le=100)
    backoff_seconds: float = Field(default=10.0, gt=0)
    max_backoff_seconds: float = Field(default=3600.0, gt=0)
    slack: SlackSettings = SlackSettings()
    email: EmailSettings = EmailSettings()
    webhook: WebhookNotificationSettings = WebhookNotificationSettings()

    def backoff_ms(self, attempts: int) -> int:
        """Delay before the next attempt after ``attempts`` failed ones."""
        delay = self.backoff_seconds * 2 ** max(0, attempts - 1)
        return int(min(delay, self.max_backoff_seconds) * 1000)


def notification_settings(settings: Settings) -> NotificationSettings:
    """Validate ``settings.notifications``; ConfigError names the bad key."""
    try:
        return NotificationSettings.model_validate(dict(settings.notifications))
    except ValidationError as exc:
        problems = [
            f"  notifications.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        ]
        raise ConfigError("invalid [notifications] configuration:\n" + "\n".join(problems)) from None
