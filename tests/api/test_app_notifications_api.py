"""``GET``/``POST /notifications/application/{app}`` in Front50's shape, as Deck's
packages/core/src/notification/AppNotificationsService.ts calls them and NotificationsList.tsx
(saveAppNotifications: ``{application, <type>: [notification, ...]}``) and
ManualPipelineExecutionModal.tsx (``Object.keys(...).filter(k => Array.isArray(...))``) read them;
and ``GET /notifications/metadata`` (NotificationService.ts)."""

from __future__ import annotations

from tests.api.live import SyncClient


def test_save_and_read_application_notifications(client: SyncClient) -> None:
    assert client.get("/notifications/application/shop").json() == {}
    body = {
        "application": "shop",
        "email": [{"type": "email", "address": "team@example.com", "level": "application", "when": ["pipeline.failed"]}],
        "slack": [{"type": "slack", "address": "deploys", "level": "application", "when": ["pipeline.complete"]}],
    }  # fmt: skip
    saved = client.post("/notifications/application/shop", json=body)
    assert saved.status_code == 200, saved.text
    stored = client.get("/notifications/application/shop").json()
    assert stored["application"] == "shop"
    assert stored["email"] == body["email"] and stored["slack"] == body["slack"]
    assert isinstance(stored["lastModified"], int) and stored["lastModifiedBy"] == "anonymous"
    # Saving replaces the whole document, as Deck writes it back whole.
    client.post("/notifications/application/shop", json={"application": "shop", "email": body["email"]})
    assert "slack" not in client.get("/notifications/application/shop").json()
    assert client.delete("/notifications/application/shop").status_code == 204
    assert client.get("/notifications/application/shop").json() == {}


def test_bad_notifications_name_the_field(client: SyncClient) -> None:
    response = client.post(
        "/notifications/application/shop",
        json={"email": {"address": "x"}, "slack": [{"when": "pipeline.failed"}, 3]},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"path": "$.email", "message": "must be a list of notifications"},
        {"path": "$.slack[0].when", "message": "must be a list such as ['pipeline.failed']"},
        {"path": "$.slack[1]", "message": "must be a notification object"},
    ]
    assert client.get("/notifications/application/shop").json() == {}
    assert client.get("/notifications/pipeline/shop").status_code == 404


def test_notification_metadata_is_a_list(client: SyncClient) -> None:
    assert client.get("/notifications/metadata").json() == []
