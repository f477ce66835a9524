"""Routers built on first use (gennaker.api.lazy_routes): same answers as eager ones, in the same order,
and the declared prefixes cover every path of their modules."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from gennaker.api import create_app
from gennaker.api.lazy_routes import LazyRouter, load_all
from gennaker.api.routes import LAZY_PREFIXES, ROUTER_MODULES
from gennaker.services import Services
from tests.api.live import SyncClient


def _paths(router: Any, prefix: str = "") -> Iterator[str]:
    for route in router.routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _paths(included, prefix + route.include_context.prefix)
        else:
            yield prefix + route.path


@pytest.mark.parametrize("module", sorted(LAZY_PREFIXES))
def test_the_prefixes_cover_every_path_of_the_module(module: str) -> None:
    assert module in ROUTER_MODULES
    placeholder = LazyRouter(None, module, LAZY_PREFIXES[module])  # type: ignore[arg-type]
    paths = sorted(set(_paths(importlib.import_module(module).router)))
    assert paths
    assert [p for p in paths if not placeholder.covers(p)] == []


def test_a_prefix_covers_whole_path_segments_only() -> None:
    placeholder = LazyRouter(None, "m", ("/ui", "/"))  # type: ignore[arg-type]
    assert placeholder.covers("/ui") and placeholder.covers("/ui/") and placeholder.covers("/ui/a/b")
    assert placeholder.covers("/")
    assert not placeholder.covers("/uix") and not placeholder.covers("/applications")


def _pending(services: Services, client: SyncClient) -> list[str]:
    app = client.app
    return [r.module for r in app.router.routes if isinstance(r, LazyRouter)]


def test_routers_are_built_on_the_first_request_under_their_prefixes(
    api: tuple[Services, SyncClient],
) -> None:
    services, client = api
    assert set(_pending(services, client)) == set(LAZY_PREFIXES)
    index = [getattr(r, "module", None) for r in client.app.router.routes].index(
        "gennaker.api.routes.kayenta"
    )
    assert client.get("/health").status_code == 200
    assert client.get("/applications").status_code == 200
    assert set(_pending(services, client)) == set(LAZY_PREFIXES)

    response = client.get("/judges")
    assert response.status_code == 200
    assert response.json() == [{"name": "NetflixACAJudge-v1.0", "visible": True}]
    assert "gennaker.api.routes.kayenta" not in _pending(services, client)
    assert client.get("/kayenta/judges").json() == response.json()

    # The built router took the placeholder's place: the order routes are tried in is unchanged.
    routes = client.app.router.routes
    kayenta = importlib.import_module("gennaker.api.routes.kayenta").router
    assert [getattr(r, "original_router", None) for r in routes].index(kayenta) == index


PATHS = ["/", "/ui", "/ui/login", "/judges", "/kayenta/credentials", "/v2/canaries/judges", "/gitops/status"]
PATHS += ["/v2/pipelineTemplates", "/uix", "/canaryConfigs", "/applications"]


def test_lazy_and_eager_routers_answer_alike(services: Services, client: SyncClient) -> None:
    eager = create_app(services)
    load_all(eager)
    reference = SyncClient(eager)
    try:
        for path in PATHS:
            for method in ("GET", "DELETE"):
                want = reference.request(method, path, follow_redirects=False)
                got = client.request(method, path, follow_redirects=False)
                assert (path, method, got.status_code) == (path, method, want.status_code)
                if "json" in want.headers.get("content-type", ""):
                    body, expected = got.json(), want.json()
                    if isinstance(expected, dict):
                        body.pop("timestamp", None), expected.pop("timestamp", None)
                    assert body == expected, (path, method)
    finally:
        reference.close()


def test_an_unknown_path_under_a_lazy_prefix_is_a_404_and_a_wrong_method_a_405(client: SyncClient) -> None:
    assert client.get("/gitops/no-such-thing").status_code == 404
    assert client.delete("/judges").status_code == 405


def test_the_openapi_document_describes_the_lazy_routes(services: Services) -> None:
    lazy = create_app(services)
    document = lazy.openapi()
    assert "/judges" in document["paths"]
    assert "/v2/pipelineTemplates" in document["paths"]
    assert not [r for r in lazy.router.routes if isinstance(r, LazyRouter)]
    error = document["paths"]["/applications/{application}"]["get"]["responses"]["404"]
    assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    schemas = document["components"]["schemas"]
    assert set(schemas["ErrorBody"]["required"]) == {"timestamp", "status", "error", "message"}
    assert "FieldProblem" in schemas
