"""Which of a pipeline's triggers can fire here, and why the others cannot.

Spinnaker's pipeline JSON is saved as is, triggers Gennaker has no source for included (``pubsub``,
``jenkins``, ``travis``, ``concourse``, ...); such a trigger would silently never fire, so the API
(``GET /pipelineConfigs/{id}/triggerStatus``) and ``gennaker pipeline get`` report it as inactive
with the reason. Triggers fire here from: the cron scheduler (``cron``), the docker registry
poller (``docker``, for accounts under ``[[docker.accounts]]``), finished pipelines (``pipeline``)
and ``POST /webhooks/<type>/{source}`` for every webhook type registered (``webhook``, ``git``, and
plugins' types).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from gennaker.triggers.common import is_enabled

Json = dict[str, Any]
#: Trigger types with a source in every installation (webhook types come from the registry).
BUILT_IN = ("cron", "docker", "pipeline")
_CI = (
    "Gennaker does not watch {name} builds (Spinnaker's Igor); add a webhook trigger and have the "
    "build call POST /webhooks/webhook/{{source}}"
)
#: Why well-known Spinnaker trigger types never fire here.
_REASONS = {
    "jenkins": _CI.format(name="Jenkins"),
    "travis": _CI.format(name="Travis"),
    "wercker": _CI.format(name="Wercker"),
    "concourse": _CI.format(name="Concourse"),
    "gcb": _CI.format(name="Google Cloud Build"),
    "pubsub": "Gennaker has no pub/sub subscriptions (Echo's pubsub); publish to a webhook trigger instead",
    "artifactory": "Gennaker does not poll Artifactory; use a webhook trigger",
    "nexus": "Gennaker does not poll Nexus; use a webhook trigger",
    "helm": "Gennaker does not poll Helm repositories; use a webhook trigger",
    "plugin": "Gennaker has no plugin events (Echo's plugin trigger)",
    "cdevents": "Gennaker does not receive CDEvents; use a webhook trigger",
}


def trigger_status(
    config: Mapping[str, Any], webhook_types: Collection[str], docker_accounts: Collection[str]
) -> list[Json]:
    """``[{index, type, enabled, active, reason}]`` for every trigger of ``config`` (``reason`` is
    null for an active one)."""
    triggers = config.get("triggers")
    if not isinstance(triggers, list):
        return []
    firing = {*BUILT_IN, *(t.lower() for t in webhook_types)}
    out: list[Json] = []
    for index, trigger in enumerate(triggers):
        if not isinstance(trigger, Mapping):
            continue
        kind = str(trigger.get("type") or "")
        reason = _inactive_reason(config, trigger, kind, firing, docker_accounts)
        out.append(
            {
                "index": index,
                "type": kind,
                "enabled": is_enabled(trigger),
                "active": reason is None,
                "reason": reason,
            }
        )
    return out


def _inactive_reason(
    config: Mapping[str, Any],
    trigger: Mapping[str, Any],
    kind: str,
    firing: set[str],
    docker_accounts: Collection[str],
) -> str | None:
    if kind.lower() not in firing:
        known = ", ".join(sorted(firing | {"manual"}))
        return (
            _REASONS.get(kind.lower())
            or f"trigger type {kind!r} has no source here (types that fire: {known})"
        )
    if config.get("disabled") is True:
        return "the pipeline is disabled"
    if not is_enabled(trigger):
        return "the trigger is not enabled (enabled: true)"
    if kind.lower() == "docker":
        account = str(trigger.get("account") or "")
        if account not in docker_accounts:
            return f"docker registry account {account!r} is not configured ([[docker.accounts]])"
    return None
