"""``GET /search`` in Gate's paged shape, as Deck's packages/core/src/search/search.service.ts
reads it (``response[0].results``; each result's ``type`` picks the UrlBuilder in
navigation/UrlBuilder.ts: ``application`` for applications, ``name`` for projects), with the
fields applicationSearchResultType.tsx and projectSearchResultType.tsx render."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.api import create_app
from gennaker.api.search import SearchSources, builtin_search_sources
from gennaker.hookspecs import hookimpl
from gennaker.services import Services
from gennaker.testing import make_services
from tests.api.conftest import create_application, save_pipeline
from tests.api.live import SyncClient
from tests.engine.fakes import EngineTestPlugin


def _results(client: SyncClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/search", params=params)
    assert response.status_code == 200, response.text
    pages = response.json()
    assert len(pages) == 1
    page = pages[0]
    assert set(page) == {"totalMatches", "pageNumber", "pageSize", "platform", "query", "results"}
    results: list[dict[str, Any]] = page["results"]
    return results


def test_applications_projects_and_pipelines(client: SyncClient) -> None:
    create_application(client, "shop")
    create_application(client, "shopfront")
    create_application(client, "billing")
    save_pipeline(client, name="Deploy shop")
    client.post("/projects", json={"name": "retail", "config": {"applications": ["shopfront"]}})
    apps = _results(client, q="SHOP", type="applications")
    assert sorted(r["application"] for r in apps) == ["shop", "shopfront"]
    assert all(r["type"] == "applications" and r["email"] == "team@example.com" for r in apps)
    projects = _results(client, q="shopf", type="projects")
    assert [(r["name"], r["type"], r["config"]["applications"]) for r in projects] == [
        ("retail", "projects", ["shopfront"])
    ]
    pipelines = _results(client, q="deploy", type="pipelines")
    assert [(r["application"], r["name"], r["type"]) for r in pipelines] == [
        ("shop", "Deploy shop", "pipelines")
    ]
    everything = _results(client, q="shop")
    assert {r["type"] for r in everything} == {"applications", "projects", "pipelines"}


def test_short_queries_paging_filters_and_unknown_types(client: SyncClient) -> None:
    for name in ("app1", "app2", "app3"):
        create_application(client, name)
    assert client.get("/search", params={"q": "ap", "type": "applications"}).json() == []
    assert len(_results(client, q="ap", type="applications", allowShortQuery="true")) == 3
    response = client.get("/search", params={"q": "app", "type": "applications", "pageSize": 2, "page": 2})
    page = response.json()[0]
    assert page["totalMatches"] == 3 and page["pageNumber"] == 2 and len(page["results"]) == 1
    assert [r["application"] for r in _results(client, q="app", type="applications", name="app2")] == ["app2"]
    # Deck asks for every registered result type; one without a source here answers nothing.
    assert _results(client, q="app", type="serverGroups") == []


class _Fixed:
    type = "serverGroups"

    def search(
        self, services: Services, conn: Any, query: str, filters: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        return (
            [{"type": "serverGroups", "serverGroup": "app1-v001", "account": "local"}]
            if "app1" in query
            else []
        )


def test_more_sources_plug_in(services: Services) -> None:
    sources: SearchSources = builtin_search_sources()
    sources.register(_Fixed())
    client = SyncClient(create_app(services, search_sources=sources))
    try:
        results = _results(client, q="app1-", type="serverGroups,applications")
        assert results == [{"type": "serverGroups", "serverGroup": "app1-v001", "account": "local"}]
        assert _results(client, q="app1-", type="serverGroups", account="other") == []
    finally:
        client.close()


class _SearchPlugin:
    @hookimpl
    def register_search_sources(self, sources: SearchSources, settings: Any) -> None:
        sources.register(_Fixed())


def test_plugins_add_sources_through_the_hook(database_url: str) -> None:
    services = make_services(database_url, plugins=(EngineTestPlugin(), _SearchPlugin()))
    client = SyncClient(create_app(services))
    try:
        assert _results(client, q="app1-", type="serverGroups")[0]["serverGroup"] == "app1-v001"
    finally:
        client.close()
        services.close()
