"""Projects as Deck reads and writes them: packages/core/src/projects/service/ProjectReader.ts
(``GET /projects``, ``/projects/{name}``, ``/projects/{name}/clusters``), ProjectWriter.ts (``POST
/tasks`` with ``upsertProject``/``deleteProject`` jobs), the dashboard
(projects/dashboard/dashboard.controller.js reads ``config.clusters.length`` and
``config.applications``; execution.service.ts ``getProjectExecutions`` reads
``/projects/{name}/pipelines``), and Front50's v2 ProjectsController for the plain REST calls."""

from __future__ import annotations

from typing import Any

from gennaker.services import Services
from gennaker.testing import run_until_idle
from tests.api.conftest import create_application, save_pipeline
from tests.api.live import SyncClient


def _task(client: SyncClient, job: dict[str, Any], description: str) -> dict[str, Any]:
    response = client.post(
        "/tasks", json={"application": "spinnaker", "description": description, "job": [job], "project": {}}
    )
    assert response.status_code == 200, response.text
    task: dict[str, Any] = client.get(response.json()["ref"]).json()
    return task


def test_deck_creates_updates_and_deletes_a_project_through_tasks(client: SyncClient) -> None:
    project = {"name": "Checkout", "email": "team@example.com", "config": {"applications": ["shop"]}}
    task = _task(client, {"type": "upsertProject", "project": project}, "Create project: Checkout")
    assert task["status"] == "SUCCEEDED"
    listed = client.get("/projects").json()
    assert len(listed) == 1
    created = listed[0]
    assert created["name"] == "Checkout" and created["email"] == "team@example.com"
    # Every config list is present: the dashboard reads config.clusters.length unguarded.
    assert created["config"] == {"applications": ["shop"], "clusters": [], "pipelineConfigs": []}
    assert isinstance(created["id"], str) and created["createTs"] == created["updateTs"]
    assert client.get("/projects/checkout").json()["id"] == created["id"]
    assert client.get(f"/projects/{created['id']}").json()["name"] == "Checkout"

    changed = {**created, "config": {**created["config"], "clusters": [{"account": "prod", "stack": "web"}]}}
    task = _task(client, {"type": "upsertProject", "project": changed}, "Update project: Checkout")
    assert task["status"] == "SUCCEEDED"
    assert [p["id"] for p in client.get("/projects").json()] == [created["id"]]
    clusters = client.get("/projects/Checkout/clusters").json()
    assert clusters == [
        {
            "account": "prod",
            "stack": "web",
            "detail": None,
            "applications": [],
            "instanceCounts": {
                "total": 0,
                "up": 0,
                "down": 0,
                "outOfService": 0,
                "starting": 0,
                "unknown": 0,
            },
        }
    ]

    task = _task(client, {"type": "deleteProject", "project": {"id": created["id"]}}, "Delete project")
    assert task["status"] == "SUCCEEDED"
    assert client.get("/projects").json() == []
    assert client.get("/projects/checkout").status_code == 404


def test_bad_projects_are_refused_with_the_field(client: SyncClient) -> None:
    response = client.post(
        "/projects",
        json={"name": "", "config": {"applications": "shop", "clusters": [{"stack": "web"}]}},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"path": "$.name", "message": "is required"},
        {"path": "$.config.applications", "message": "must be a list"},
        {"path": "$.config.clusters[0].account", "message": "is required"},
    ]
    task = _task(client, {"type": "upsertProject", "project": {"config": {}}}, "Create project")
    assert task["status"] == "TERMINAL"
    assert client.get("/projects").json() == []


def test_front50_rest_calls_and_unique_names(client: SyncClient) -> None:
    first = client.post("/projects", json={"name": "alpha"}).json()
    assert client.post("/projects", json={"name": "ALPHA"}).status_code == 409
    second = client.post("/projects", json={"name": "beta"}).json()
    renamed = client.put(f"/projects/{second['id']}", json={"name": "Alpha"})
    assert renamed.status_code == 409 and "A Project named 'Alpha' already exists" in renamed.text
    updated = client.put(f"/projects/{second['id']}", json={"name": "gamma", "email": "g@example.com"}).json()
    assert updated["id"] == second["id"] and updated["createTs"] == second["createTs"]
    assert [p["name"] for p in client.get("/projects").json()] == ["alpha", "gamma"]
    assert client.put("/projects/missing", json={"name": "x"}).status_code == 404
    assert client.delete(f"/projects/{first['id']}").status_code == 202
    assert client.delete(f"/projects/{first['id']}").status_code == 404


def test_project_pipelines_are_the_newest_executions_of_its_configs(
    client: SyncClient, services: Services
) -> None:
    create_application(client)
    deploy = save_pipeline(client, name="deploy")
    save_pipeline(client, name="other")
    for name in ("deploy", "deploy", "other"):
        assert client.post(f"/pipelines/shop/{name}", json={}).status_code == 202
    run_until_idle(services)
    project = client.post(
        "/projects",
        json={
            "name": "p",
            "config": {"pipelineConfigs": [{"application": "shop", "pipelineConfigId": deploy["id"]}]},
        },
    ).json()
    executions = client.get(f"/projects/{project['name']}/pipelines", params={"limit": 1}).json()
    assert [e["pipelineConfigId"] for e in executions] == [deploy["id"]]
    assert client.get("/projects/p/pipelines", params={"statuses": "RUNNING"}).json() == []
    assert client.get("/projects/nope/pipelines").status_code == 404
