"""Every error in Gate's shape, never a stack trace; the OpenAPI document describes the API."""

from __future__ import annotations

import logging

import pytest

from gennaker.api import create_app
from gennaker.services import Services
from gennaker.testing import make_services
from tests.api.live import SyncClient

SHAPE = {"timestamp", "status", "error", "message"}


def test_malformed_json_is_400_with_a_precise_message(client: SyncClient) -> None:
    response = client.post("/pipelines", content=b'{"name": ', headers={"content-type": "application/json"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) >= SHAPE and body["message"] == "the request body is not valid JSON"
    assert body["errors"][0]["path"] == "$" and body["errors"][0]["message"].startswith("malformed JSON")


def test_wrong_types_name_the_field(client: SyncClient) -> None:
    response = client.post("/tasks", json={"application": "shop", "job": {"type": "noop"}})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"path": "$.job", "message": "must be a JSON array"}]
    response = client.post("/pipelines", json=["not", "an", "object"])
    assert response.json()["errors"] == [{"path": "$", "message": "must be a JSON object"}]
    response = client.get("/executions", params={"pipelineConfigIds": "a", "limit": "many"})
    assert response.status_code == 400 and response.json()["errors"][0]["path"] == "query.limit"


def test_unknown_routes_and_methods(client: SyncClient) -> None:
    missing = client.get("/no/such/thing")
    assert missing.status_code == 404 and missing.json()["message"] == "no such endpoint: GET /no/such/thing"
    wrong = client.request("PATCH", "/applications")
    assert wrong.status_code == 405 and set(wrong.json()) >= SHAPE


def test_an_unexpected_error_is_a_logged_500_without_a_traceback(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    services: Services = make_services(sqlite_url)
    app = create_app(services)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail")

    client = SyncClient(app)
    try:
        with caplog.at_level(logging.ERROR):
            response = client.get("/boom")
    finally:
        client.close()
        services.close()
    assert response.status_code == 500
    assert response.json()["message"] == "internal error; the server log has the details"
    assert "secret detail" not in response.text and "Traceback" not in response.text
    assert any("secret detail" in (r.exc_text or "") for r in caplog.records)


def test_openapi_lists_the_endpoints(client: SyncClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path, method in [
        ("/applications", "get"),
        ("/applications/{application}", "get"),
        ("/pipelines", "post"),
        ("/pipelines/{application}/{name_or_id}", "post"),
        ("/pipelines/v2/{application}/{name_or_id}", "post"),
        ("/pipelines/{execution_id}/cancel", "put"),
        ("/pipelines/{execution_id}/stages/{stage_id}", "patch"),
        ("/tasks", "post"),
        ("/tasks/{task_id}", "get"),
        ("/events/stream", "get"),
        ("/health", "get"),
        ("/metrics", "get"),
        ("/v2/pipelineTemplates", "get"),
    ]:
        assert method in paths[path], (path, method)
    ref = paths["/pipelines/{application}/{name_or_id}"]["post"]["responses"]
    assert "202" in ref and "400" in ref and "404" in ref


def test_numbers_that_cannot_be_stored_are_400(client: SyncClient) -> None:
    response = client.post(
        "/applications",
        content=b'{"name": "big", "email": "a@example.com", "n": 123456789012345678901234567890}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "does not fit in 64 bits" in response.json()["message"]
    nan = client.post(
        "/applications",
        content=b'{"name": "n", "email": "a@example.com", "x": NaN}',
        headers={"content-type": "application/json"},
    )
    assert nan.status_code == 400 and "NaN" in nan.json()["message"]
    assert client.get("/applications").json() == []


def test_an_out_of_range_number_reaching_the_database_is_400(client: SyncClient) -> None:
    """Found by schemathesis on GET /events (an unbounded integer parameter): any route that lets a
    huge integer through to SQLite answers 400, not 500."""
    response = client.get("/events", params={"since": str(2**70)})
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert "out of range" in response.json()["message"]
