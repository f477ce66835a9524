"""Gate's ``GET /search``: sources of search results, one per result type, kept in a small
registry that the app is built with, so that modules with more types (a cloud provider's server
groups, instances, load balancers) register theirs next to the built-in ones::

    sources = builtin_search_sources()
    sources.register(MyServerGroupSource())
    app = create_app(services, search_sources=sources)

or, from a plugin, the ``register_search_sources(sources, settings)`` hook (called when the app is
built without explicit sources).

A source answers one ``type`` (Deck's search result type ids: ``applications``, ``projects``,
``serverGroups``, ...) with result objects carrying ``type`` and the fields Deck's UrlBuilder and
result tables read for it. Matching is a case-insensitive substring of the query, as Clouddriver's
search providers do; ``filters`` are the request's other parameters.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker.store.schema import pipeline_configs as cfg_t

if TYPE_CHECKING:
    from gennaker.services import Services

Json = dict[str, Any]


class SearchSource(Protocol):
    """Results of one type for a query."""

    #: The result type answered, as Deck names it (``applications``, ``serverGroups``, ...).
    type: str

    def search(
        self, services: Services, conn: Connection, query: str, filters: Mapping[str, str]
    ) -> list[Json]:
        """Every result matching ``query`` (lower-case; may be empty) and ``filters``."""


class SearchSources:
    """The search sources by type; built once with the app, never global."""

    def __init__(self, *sources: SearchSource) -> None:
        self._sources: dict[str, SearchSource] = {}
        for source in sources:
            self.register(source)

    def register(self, source: SearchSource) -> None:
        """Add (or replace) the source of ``source.type``."""
        self._sources[source.type] = source

    def get(self, type_: str) -> SearchSource | None:
        """The source of one type, if any."""
        return self._sources.get(type_)

    @property
    def types(self) -> list[str]:
        """The types that have a source."""
        return list(self._sources)

    def __iter__(self) -> Iterator[SearchSource]:
        return iter(self._sources.values())


def matches_filters(result: Mapping[str, Any], filters: Mapping[str, str]) -> bool:
    """Every filter names a field of the result with that value (any case; lists: one of them)."""
    for key, wanted in filters.items():
        value = result.get(key)
        if value is None:
            return False
        values = value if isinstance(value, list) else str(value).split(",") if key == "accounts" else [value]
        if not any(str(v).strip().lower() == wanted.lower() for v in values):
            return False
    return True


class ApplicationSource:
    """Applications by name (Clouddriver's search over Front50's applications)."""

    type = "applications"

    def search(
        self, services: Services, conn: Connection, query: str, filters: Mapping[str, str]
    ) -> list[Json]:
        """Applications whose name contains the query."""
        found = []
        for app in services.applications.list(conn):
            name = str(app.get("name", ""))
            if query in name.lower():
                found.append({**app, "application": name, "type": self.type, "url": f"/applications/{name}"})
        return found


class ProjectSource:
    """Projects by name or by one of their applications (Front50's project search)."""

    type = "projects"

    def search(
        self, services: Services, conn: Connection, query: str, filters: Mapping[str, str]
    ) -> list[Json]:
        """Projects whose name, or one of whose applications, contains the query."""
        found = []
        for project in services.projects.list(conn):
            config = project.get("config") or {}
            applications = [str(a) for a in config.get("applications") or []]
            name = str(project.get("name", ""))
            if query in name.lower() or any(query in a.lower() for a in applications):
                found.append(
                    {
                        **project,
                        "project": name,
                        "applications": applications,
                        "clusters": config.get("clusters") or [],
                        "type": self.type,
                        "url": f"/projects/{project.get('id')}",
                    }
                )
        return found


class PipelineSource:
    """Pipeline configs by name (Gennaker's addition; Deck has no result type for it)."""

    type = "pipelines"

    def search(
        self, services: Services, conn: Connection, query: str, filters: Mapping[str, str]
    ) -> list[Json]:
        """Pipeline configs whose name contains the query."""
        rows = conn.execute(
            sa.select(cfg_t.c.id, cfg_t.c.application, cfg_t.c.name)
            .where(cfg_t.c.kind == "pipeline", cfg_t.c.name_key.contains(query, autoescape=True))
            .order_by(cfg_t.c.application, cfg_t.c.name_key)
        )
        return [
            {
                "type": self.type,
                "id": config_id,
                "pipelineConfigId": config_id,
                "application": application,
                "name": name,
                "url": f"/applications/{application}/pipelineConfigs/{config_id}",
            }
            for config_id, application, name in rows
        ]


def builtin_search_sources() -> SearchSources:
    """Applications, projects and pipelines."""
    return SearchSources(ApplicationSource(), ProjectSource(), PipelineSource())
