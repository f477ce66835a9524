"""The webhook types ``POST /webhooks/{type}/{source}`` accepts, built-in and from plugins.

A plugin adds one with the ``register_trigger_sources(registry, settings)`` hook, calling
``registry.add_webhook_type("mytype", handler)``; the handler takes the Services object and a
``Delivery`` and returns an ``Outcome`` (``gennaker.triggers.webhook.handle`` already matches
``source`` and ``payloadConstraints`` for any type, so ``add_webhook_type("mytype",
webhook.handle)`` gives a new type the webhook semantics).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gennaker.triggers import git, webhook

if TYPE_CHECKING:
    from gennaker.services import Services

Handler = Callable[["Services", webhook.Delivery], webhook.Outcome]


class TriggerSourceRegistry:
    """Webhook types by name (lower case)."""

    def __init__(self) -> None:
        self._webhook_types: dict[str, Handler] = {}

    def add_webhook_type(self, name: str, handler: Handler) -> None:
        """Accept ``POST /webhooks/<name>/{source}`` and hand deliveries to ``handler``."""
        self._webhook_types[name.lower()] = handler

    def webhook_handler(self, name: str) -> Handler | None:
        """The handler of a webhook type, or None when the type is unknown."""
        return self._webhook_types.get(name.lower())

    @property
    def webhook_types(self) -> tuple[str, ...]:
        """The known webhook types, sorted."""
        return tuple(sorted(self._webhook_types))


def build_registry(services: Services) -> TriggerSourceRegistry:
    """The built-in sources plus whatever plugins register."""
    registry = TriggerSourceRegistry()
    registry.add_webhook_type("webhook", webhook.handle)
    registry.add_webhook_type("git", git.handle)
    services.plugins.hook.register_trigger_sources(registry=registry, settings=services.settings)
    return registry
