"""Request bodies the database cannot hold, or sent with the wrong content type, and the methods
a path answers: each refused with a 4xx naming the problem, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest

from tests.api.conftest import create_application
from tests.api.live import SyncClient

JSON = {"content-type": "application/json"}

ROUTES = [
    ("POST", "/pipelines", b'{"application": "shop", "name": "%s", "stages": []}'),
    ("POST", "/pipelines/shop/deploy", b'{"type": "manual", "user": "%s"}'),
    ("POST", "/applications", b'{"name": "shop", "email": "%s"}'),
    ("POST", "/tasks", b'{"application": "shop", "description": "%s", "job": []}'),
    ("POST", "/pipelines/start", b'{"application": "shop", "name": "deploy", "user": "%s"}'),
]


@pytest.mark.parametrize(("method", "path", "template"), ROUTES)
def test_a_lone_surrogate_is_400_naming_the_field(
    client: SyncClient, method: str, path: str, template: bytes
) -> None:
    """Item 11 of issue #10: ``"\\ud800"`` in a JSON body was a 500 with a stack trace."""
    response = client.request(method, path, content=template % rb"x\ud800y", headers=JSON)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["errors"][0]["message"] == "must not contain a lone UTF-16 surrogate (such as \\ud800)"
    assert body["errors"][0]["path"].startswith("$.")
    assert client.get("/applications").json() == []


@pytest.mark.parametrize(("method", "path", "template"), ROUTES)
def test_a_nul_character_is_400_naming_the_field_on_every_backend(
    client: SyncClient, method: str, path: str, template: bytes
) -> None:
    """Item 22 of issue #10: a NUL in a pipeline name was kept on SQLite and refused (500) on
    PostgreSQL; the one rule is to refuse it in every stored string."""
    response = client.request(method, path, content=template % rb"de\u0000ploy", headers=JSON)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["message"] == "must not contain a NUL character (\\u0000)"


def test_the_path_names_where_the_bad_value_is(client: SyncClient) -> None:
    """Items 11 and 22 of issue #10: nested values and keys are reported by JSON path."""
    body = b'{"application": "shop", "name": "p", "stages": [{"refId": "1", "type": "wait", "x\\u0000": 1}]}'
    response = client.post("/pipelines", content=body, headers=JSON)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"path": "$.stages[0].x\x00", "message": "the key must not contain a NUL character (\\u0000)"}
    ]


def test_a_number_beyond_a_double_is_refused_as_nan_is(client: SyncClient) -> None:
    """Item 11 of issue #10: ``1e400`` was stored as null."""
    create_application(client)
    response = client.post(
        "/pipelines",
        content=b'{"application": "shop", "name": "p", "stages": [], "limit": -1e400}',
        headers=JSON,
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"path": "$.limit", "message": "the number -1e400 is too large (beyond a 64-bit float)"}
    ]
    assert client.get("/applications/shop/pipelineConfigs").json() == []
    fine = client.post(
        "/pipelines",
        content=b'{"application": "shop", "name": "p", "stages": [], "small": 1e-400, "big": 1e300}',
        headers=JSON,
    )
    assert fine.status_code == 200, fine.text


def test_json_sent_under_another_content_type_is_415(client: SyncClient) -> None:
    """Item 13 of issue #10: this said "$: must be a JSON object"."""
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = client.post(
            "/applications",
            content=b'{"name": "shop", "email": "a@example.com"}',
            headers={"content-type": content_type},
        )
        assert response.status_code == 415, response.text
        assert response.json()["message"] == (
            f"send the body as Content-Type: application/json (this request said {content_type})"
        )
    assert client.get("/applications").json() == []


def test_options_and_405_name_every_method_the_path_answers(client: SyncClient) -> None:
    """Item 21 of issue #10: ``OPTIONS /pipelines/start`` answered ``allow: PUT``, the method of
    the first route whose pattern matched (``PUT /pipelines/{id}``), not POST which starts runs."""
    options = client.request("OPTIONS", "/pipelines/start")
    assert options.status_code == 200
    assert options.headers["allow"] == "DELETE, GET, POST, PUT, OPTIONS"
    wrong = client.request("PATCH", "/applications")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, POST, OPTIONS"
    assert (
        wrong.json()["message"]
        == "method PATCH is not allowed on /applications (allowed: GET, POST, OPTIONS)"
    )
