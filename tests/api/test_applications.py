"""Applications through Gate's tasks and the plain endpoints, on SQLite and PostgreSQL."""

from __future__ import annotations

from gennaker.services import Services
from tests.api.conftest import create_application
from tests.api.live import SyncClient


def test_create_application_task_answers_a_ref_and_succeeds(client: SyncClient) -> None:
    response = client.post(
        "/tasks",
        json={
            "application": "shop",
            "description": "Create Application: shop",
            "job": [{"type": "createApplication", "application": {"name": "Shop", "email": "a@example.com"}}],
        },
    )
    assert response.status_code == 200
    ref = response.json()["ref"]
    assert ref.startswith("/tasks/")
    task = client.get(ref).json()
    assert task["status"] == "SUCCEEDED"
    assert task["name"] == "Create Application: shop"
    assert task["execution"]["type"] == "ORCHESTRATION"
    assert task["execution"]["stages"][0]["type"] == "createApplication"
    assert {v["key"] for v in task["variables"]} >= {"application"}
    assert set(task) >= {
        "id",
        "application",
        "status",
        "variables",
        "steps",
        "buildTime",
        "startTime",
        "endTime",
    }

    found = client.get("/applications/shop").json()
    assert found["name"] == "shop"
    assert found["attributes"]["email"] == "a@example.com"
    assert [a["name"] for a in client.get("/applications").json()] == ["shop"]


def test_an_invalid_application_makes_a_terminal_task_and_changes_nothing(client: SyncClient) -> None:
    ref = client.post(
        "/tasks",
        json={"application": "x", "job": [{"type": "createApplication", "application": {"name": "x"}}]},
    ).json()["ref"]
    task = client.get(ref).json()
    assert task["status"] == "TERMINAL"
    details = task["execution"]["stages"][0]["context"]["exception"]["details"]
    assert any("email" in e for e in details["errors"])
    assert client.get("/applications").json() == []


def test_delete_application_task_and_plain_endpoints(client: SyncClient) -> None:
    create_application(client)
    ref = client.post(
        "/tasks",
        json={"application": "shop", "job": [{"type": "deleteApplication", "application": {"name": "shop"}}]},
    ).json()["ref"]
    assert client.get(ref).json()["status"] == "SUCCEEDED"
    missing = client.get("/applications/shop")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Application not found (id: shop)"

    saved = client.post("/applications", json={"name": "Web", "email": "w@example.com", "custom": 1})
    assert saved.status_code == 200 and saved.json()["name"] == "web"
    updated = client.post("/applications", json={"name": "web", "email": "x@example.com"})
    assert updated.json()["custom"] == 1 and updated.json()["email"] == "x@example.com"
    assert client.get("/applications", params={"owner": "X@example.com"}).json()[0]["name"] == "web"
    assert client.delete("/applications/web").status_code == 204
    assert client.delete("/applications/web").status_code == 404


def test_update_application_job(client: SyncClient, services: Services) -> None:
    create_application(client)
    ref = client.post(
        "/tasks",
        json={
            "job": [{"type": "updateApplication", "application": {"name": "shop", "description": "the shop"}}]
        },
    ).json()["ref"]
    assert client.get(ref).json()["application"] == "shop"
    assert client.get("/applications/shop").json()["attributes"]["description"] == "the shop"
