"""Triggers that save (Spinnaker's JSON as is) but cannot fire here are reported inactive with the
reason: ``GET /pipelineConfigs/{id}/triggerStatus`` and by application and name. The trigger
shapes are those of public pipelines (Deck's trigger editors write them)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import create_application, save_pipeline
from tests.api.live import SyncClient

TRIGGERS: list[dict[str, Any]] = [
    {"type": "cron", "enabled": True, "cronExpression": "0 0 12 * * ?"},
    {"type": "webhook", "enabled": True, "source": "deploy"},
    {"type": "git", "enabled": True, "source": "github", "project": "org", "slug": "shop"},
    {"type": "pipeline", "enabled": True, "application": "shop", "pipeline": "abc", "status": ["successful"]},
    {"type": "jenkins", "enabled": True, "master": "ci", "job": "build"},
    {"type": "pubsub", "enabled": True, "pubsubSystem": "google", "subscriptionName": "s"},
    {"type": "concourse", "enabled": True, "account": "c", "team": "t", "project": "p"},
    {"type": "docker", "enabled": True, "account": "dockerhub", "repository": "org/shop"},
    {"type": "webhook", "enabled": False, "source": "off"},
    {"type": "somethingElse", "enabled": True},
]


def test_inactive_triggers_say_why(client: SyncClient) -> None:
    create_application(client)
    saved = save_pipeline(client, triggers=TRIGGERS)
    # Saved as is (cron triggers get an id, as Front50 gives them).
    assert [{k: v for k, v in t.items() if k != "id"} for t in saved["triggers"]] == TRIGGERS
    statuses = client.get(f"/pipelineConfigs/{saved['id']}/triggerStatus").json()
    assert client.get("/applications/shop/pipelineConfigs/deploy/triggerStatus").json() == statuses
    assert [(s["index"], s["type"], s["active"]) for s in statuses] == [
        (0, "cron", True),
        (1, "webhook", True),
        (2, "git", True),
        (3, "pipeline", True),
        (4, "jenkins", False),
        (5, "pubsub", False),
        (6, "concourse", False),
        (7, "docker", False),
        (8, "webhook", False),
        (9, "somethingElse", False),
    ]
    reasons = {s["index"]: s["reason"] for s in statuses}
    assert all(reasons[i] is None for i in range(4))
    assert "does not watch Jenkins builds" in reasons[4] and "POST /webhooks/webhook/{source}" in reasons[4]
    assert "no pub/sub subscriptions" in reasons[5]
    assert "Concourse" in reasons[6]
    assert reasons[7] == "docker registry account 'dockerhub' is not configured ([[docker.accounts]])"
    assert reasons[8] == "the trigger is not enabled (enabled: true)"
    assert reasons[9].startswith(
        "trigger type 'somethingElse' has no source here (types that fire: cron, docker"
    )
    assert client.get("/pipelineConfigs/nope/triggerStatus").status_code == 404


def test_a_disabled_pipeline_has_no_active_trigger(client: SyncClient) -> None:
    create_application(client)
    saved = save_pipeline(client, disabled=True, triggers=[TRIGGERS[0]])
    [status] = client.get(f"/pipelineConfigs/{saved['id']}/triggerStatus").json()
    assert status == {
        "index": 0,
        "type": "cron",
        "enabled": True,
        "active": False,
        "reason": "the pipeline is disabled",
    }
