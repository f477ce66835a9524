"""Secrets in pipeline JSON are not read back (issue #10, item 19): a webhook stage's
``customHeaders`` and a git trigger's ``secret`` came back verbatim from GET pipeline config and
GET execution. They are redacted in every read, stay usable (the webhook sends the real header, to
a real HTTP server on 127.0.0.1), and a config saved back as read keeps the stored values."""

from __future__ import annotations

import base64
import json
from typing import Any

from gennaker.model.redaction import REDACTED
from gennaker.services import Services
from gennaker.testing import run_until_idle
from tests.api.conftest import create_application, save_pipeline
from tests.api.live import SyncClient
from tests.stages.http_service import Reply, serving

TOKEN = "Bearer tok-5ecret-9f2"
SECRET = "git-5igning-5ecret"


def config(url: str) -> dict[str, Any]:
    return {
        "stages": [
            {
                "refId": "1",
                "type": "webhook",
                "name": "notify",
                "url": url,
                "method": "POST",
                "customHeaders": {"Authorization": TOKEN, "Content-Type": "application/json"},
            }
        ],
        "triggers": [
            {
                "type": "git",
                "enabled": True,
                "source": "github",
                "project": "acme",
                "slug": "shop",
                "secret": SECRET,
            }
        ],
    }


def test_reads_redact_and_saves_keep_the_secrets(client: SyncClient, services: Services) -> None:
    with serving() as hook:
        hook.on("POST", "/deploys", Reply(200, {"ok": True}))
        create_application(client)
        saved = save_pipeline(client, **config(hook.url("/deploys")))
        config_id = saved["id"]
        reads = [
            client.get(f"/pipelineConfigs/{config_id}"),
            client.get("/applications/shop/pipelineConfigs"),
            client.get("/applications/shop/pipelineConfigs/deploy"),
            client.get(f"/pipelineConfigs/{config_id}/history"),
        ]
        for response in [*reads]:
            assert response.status_code == 200
            assert TOKEN not in response.text and SECRET not in response.text
        assert TOKEN not in str(saved) and SECRET not in str(saved)
        shown = reads[0].json()
        assert shown["stages"][0]["customHeaders"] == {
            "Authorization": REDACTED,
            "Content-Type": "application/json",
        }
        assert shown["triggers"][0]["secret"] == REDACTED

        # Deck saves back what it read: the stored values are kept.
        shown["description"] = "edited in the UI"
        again = client.post("/pipelines", json=shown)
        assert again.status_code == 200, again.text
        with services.db.read() as conn:
            stored = services.pipelines.find(conn, config_id)
        assert stored is not None and stored["description"] == "edited in the UI"
        assert stored["stages"][0]["customHeaders"]["Authorization"] == TOKEN
        assert stored["triggers"][0]["secret"] == SECRET

        ref = client.post("/pipelines/shop/deploy", json={}).json()["ref"]
        run_until_idle(services, advance_clock=False)
        [call] = hook.calls("POST", "/deploys")
        assert call.headers["authorization"] == [TOKEN]  # still usable
        execution_reads = [
            client.get(ref),
            client.get("/applications/shop/pipelines", params={"expand": "true"}),
            client.get("/executions", params={"pipelineConfigIds": config_id, "expand": "true"}),
        ]
        for response in execution_reads:
            assert response.status_code == 200
            assert TOKEN not in response.text and SECRET not in response.text
        execution = execution_reads[0].json()
        assert execution["status"] == "SUCCEEDED"
        assert execution["stages"][0]["context"]["customHeaders"]["Authorization"] == REDACTED


def test_a_placeholder_with_nothing_stored_is_refused(client: SyncClient) -> None:
    create_application(client)
    body = {"application": "shop", "name": "fresh", **config("http://127.0.0.1:9/x")}
    body["stages"][0]["customHeaders"]["Authorization"] = REDACTED
    response = client.post("/pipelines", json=body)
    assert response.status_code == 400
    assert "$.stages[0].customHeaders.Authorization" in response.json()["message"]
    assert client.get("/applications/shop/pipelineConfigs/fresh").status_code == 404


def test_deck_saving_through_tasks_keeps_the_secrets_and_the_task_shows_none(
    client: SyncClient, services: Services
) -> None:
    """Deck saves a pipeline with ``POST /tasks`` (job ``savePipeline``, the config in base64)."""
    create_application(client)
    saved = save_pipeline(client, **config("http://127.0.0.1:9/x"))
    shown = client.get(f"/pipelineConfigs/{saved['id']}").json()
    encoded = base64.b64encode(json.dumps(shown).encode()).decode()
    task = client.post(
        "/tasks",
        json={
            "application": "shop",
            "description": "Save pipeline",
            "job": [{"type": "savePipeline", "pipeline": encoded}],
        },
    )
    assert task.status_code == 200, task.text
    record = client.get(task.json()["ref"])
    assert record.json()["status"] == "SUCCEEDED"
    assert TOKEN not in record.text and SECRET not in record.text
    with services.db.read() as conn:
        stored = services.pipelines.find(conn, saved["id"])
    assert stored is not None
    assert stored["stages"][0]["customHeaders"]["Authorization"] == TOKEN
    assert stored["triggers"][0]["secret"] == SECRET
