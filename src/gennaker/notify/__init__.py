"""Notifications (Echo's notification agents): Slack, email and generic webhooks.

The outbox dispatcher turns events into delivery rows (``planner``); the scheduler role's
``NotificationSender`` sends them with retries (``sender``); one module per channel. Plugins add
channels with the ``register_notifiers(registry, settings)`` hook, where ``registry`` is the dict
of channels by notification ``type`` (``registry["sms"] = MyChannel()``; see ``base.Channel``).
"""
