"""Pipeline configs: save, validate, update, delete, history and restore."""

from __future__ import annotations

from gennaker.services import Services
from tests.api.conftest import create_application, save_pipeline
from tests.api.live import SyncClient


def test_save_get_list_and_update_by_id(client: SyncClient) -> None:
    create_application(client)
    saved = save_pipeline(client, custom={"kept": True})
    assert saved["id"] and saved["lastModifiedBy"] == "anonymous"
    got = client.get("/applications/shop/pipelineConfigs/DEPLOY").json()
    assert got == saved
    assert [c["name"] for c in client.get("/applications/shop/pipelineConfigs").json()] == ["deploy"]

    again = client.post("/pipelines", json={**got, "description": "v2"}).json()
    assert again["id"] == saved["id"] and again["description"] == "v2"
    put = client.put(f"/pipelines/{saved['id']}", json={**again, "description": "v3"})
    assert put.status_code == 200 and put.json()["description"] == "v3"
    assert client.get(f"/pipelineConfigs/{saved['id']}").json()["description"] == "v3"


def test_validation_errors_carry_json_paths_and_save_nothing(client: SyncClient) -> None:
    create_application(client)
    response = client.post(
        "/pipelines",
        json={"application": "shop", "name": "bad", "stages": [{"refId": "1", "type": "noSuchStage"}]},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and body["error"] == "Bad Request"
    assert {
        "path": "$.stages[0].type",
        "message": "stage '1': unknown stage type 'noSuchStage'; set allowUnavailableStages: true on the "
        "config to save it for another installation",
    } in body["errors"]
    assert client.get("/applications/shop/pipelineConfigs").json() == []

    valid = client.post("/pipelines/validate", json={"application": "shop", "name": "p", "stages": []})
    assert valid.status_code == 200 and valid.json() == {"valid": True}
    invalid = client.post("/pipelines/validate", json={"application": "shop", "stages": [{"refId": "1"}]})
    assert invalid.status_code == 400
    assert {e["path"] for e in invalid.json()["errors"]} >= {"$.name", "$.stages[0].type"}


def test_saving_for_an_unknown_application_is_404(client: SyncClient) -> None:
    response = client.post("/pipelines", json={"application": "ghost", "name": "p", "stages": []})
    assert response.status_code == 404
    assert "ghost does not exist" in response.json()["message"]
    assert client.get("/applications/ghost/pipelineConfigs").status_code == 404


def test_stale_check_refuses_an_old_body(client: SyncClient, services: Services) -> None:
    create_application(client)
    first = save_pipeline(client)
    services.clock.advance(seconds=1)  # type: ignore[attr-defined]
    save_pipeline(client, id=first["id"], description="newer")
    stale = client.post("/pipelines", params={"staleCheck": "true"}, json=first)
    assert stale.status_code == 409
    assert "stale" in stale.json()["message"]


def test_put_with_another_id_in_the_body_is_refused(client: SyncClient) -> None:
    create_application(client)
    saved = save_pipeline(client)
    response = client.put(f"/pipelines/{saved['id']}", json={**saved, "id": "other"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "$.id"
    assert client.put("/pipelines/nope", json={**saved, "id": None}).status_code == 404


def test_history_and_restore(client: SyncClient) -> None:
    create_application(client)
    saved = save_pipeline(client, description="one")
    save_pipeline(client, id=saved["id"], description="two")
    response = client.get(f"/pipelineConfigs/{saved['id']}/history")
    assert [c["description"] for c in response.json()] == ["two", "one"]
    assert response.headers["X-Gennaker-Revisions"] == "2,1"
    assert client.get(f"/pipelineConfigs/{saved['id']}/history/1").json()["description"] == "one"

    restored = client.post(f"/pipelineConfigs/{saved['id']}/history/1/restore")
    assert restored.status_code == 200 and restored.json()["description"] == "one"
    assert client.get(f"/pipelineConfigs/{saved['id']}").json()["description"] == "one"
    assert len(client.get(f"/pipelineConfigs/{saved['id']}/history").json()) == 3
    assert client.post(f"/pipelineConfigs/{saved['id']}/history/9/restore").status_code == 404
    assert client.get("/pipelineConfigs/nope/history").status_code == 404


def test_delete_pipeline_config(client: SyncClient) -> None:
    create_application(client)
    save_pipeline(client)
    assert client.delete("/pipelines/shop/Deploy").status_code == 204
    assert client.get("/applications/shop/pipelineConfigs/deploy").status_code == 404
    assert client.delete("/pipelines/shop/deploy").status_code == 404


def test_save_and_delete_pipeline_jobs(client: SyncClient) -> None:
    create_application(client)
    import base64
    import json

    pipeline = {"application": "shop", "name": "viaTask", "stages": []}
    encoded = base64.b64encode(json.dumps(pipeline).encode()).decode()
    ref = client.post(
        "/tasks", json={"application": "shop", "job": [{"type": "savePipeline", "pipeline": encoded}]}
    )
    assert client.get(ref.json()["ref"]).json()["status"] == "SUCCEEDED"
    assert client.get("/applications/shop/pipelineConfigs/viaTask").status_code == 200
    ref = client.post(
        "/tasks",
        json={
            "application": "shop",
            "job": [{"type": "deletePipeline", "application": "shop", "pipeline": "viaTask"}],
        },
    )
    assert client.get(ref.json()["ref"]).json()["status"] == "SUCCEEDED"
    assert client.get("/applications/shop/pipelineConfigs/viaTask").status_code == 404


def test_strategies(client: SyncClient) -> None:
    create_application(client)
    saved = client.post("/strategies", json={"application": "shop", "name": "rolling", "stages": []}).json()
    assert [s["id"] for s in client.get("/applications/shop/strategyConfigs").json()] == [saved["id"]]
    assert client.get("/applications/shop/pipelineConfigs").json() == []
    assert len(client.get(f"/strategyConfigs/{saved['id']}/history").json()) == 1
    assert client.delete("/strategies/shop/rolling").status_code == 204


def test_pipeline_templates(client: SyncClient) -> None:
    template = {
        "schema": "v2",
        "id": "base",
        "metadata": {"name": "Base", "description": "d", "owner": "o@example.com", "scopes": ["global"]},
        "variables": [],
        "pipeline": {"stages": []},
    }
    ref = client.post("/v2/pipelineTemplates/create", json=template, params={"tag": "stable"})
    assert ref.status_code == 202
    assert client.get(ref.json()["ref"]).json()["status"] == "SUCCEEDED"
    listed = client.get("/v2/pipelineTemplates").json()
    assert {(t["id"], t["tag"]) for t in listed} == {("base", "stable"), ("base", "latest")}
    assert (
        client.get("/v2/pipelineTemplates/base", params={"tag": "stable"}).json()["metadata"]["name"]
        == "Base"
    )
    again = client.post("/v2/pipelineTemplates/create", json=template, params={"tag": "stable"})
    assert client.get(again.json()["ref"]).json()["status"] == "TERMINAL"
    client.post(
        "/v2/pipelineTemplates/update/base", json={**template, "protect": True}, params={"tag": "stable"}
    )
    assert client.get("/v2/pipelineTemplates/base", params={"tag": "stable"}).json()["protect"] is True
    deleted = client.delete("/v2/pipelineTemplates/base")
    assert client.get(deleted.json()["ref"]).json()["status"] == "SUCCEEDED"
    assert client.get("/v2/pipelineTemplates/base").status_code == 404
