"""Routers built on first use: a router module whose paths all start with known prefixes is imported
(and its routes built) when the first request under one of those prefixes arrives, not at start-up.

Building FastAPI routes is most of the API's start-up cost (every parameter and response becomes a
pydantic validator), and the canary API, the web UI, pipeline templates and git sync are not what a
server is first asked for. A ``LazyRouter`` holds its module's place in the app's route list, so the
order in which routes are tried is the same as if the module had been included eagerly; once loaded,
the module's included router takes that place. ``load_all`` builds every pending router (the OpenAPI
document needs all of them).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute, Match

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.datastructures import URLPath
    from starlette.types import Receive, Scope, Send


class LazyRouter(BaseRoute):
    """The place of ``module``'s ``router`` in ``app``'s routes until a request under ``prefixes``
    (a whole path segment: ``/ui`` covers ``/ui`` and ``/ui/x``, not ``/uix``; ``/`` covers ``/`` only)
    needs it."""

    def __init__(
        self, app: FastAPI, module: str, prefixes: tuple[str, ...], dependencies: Sequence[Any] = ()
    ) -> None:
        self.app = app
        self.dependencies = list(dependencies)
        self.module = module
        self.prefixes = prefixes
        self._loaded: BaseRoute | None = None
        self._lock = threading.Lock()

    def covers(self, path: str) -> bool:
        """Whether a route of the module could serve ``path``."""
        return any(path == p or (p != "/" and path.startswith(p + "/")) for p in self.prefixes)

    def load(self) -> BaseRoute:
        """Import the module and put its included router where this placeholder stands."""
        with self._lock:
            if self._loaded is None:
                router = importlib.import_module(self.module).router
                routes = self.app.router.routes
                self.app.include_router(
                    router, dependencies=self.dependencies
                )  # appended last: moved into this place below
                included = routes.pop()
                routes[routes.index(self)] = included
                self._loaded = included
            return self._loaded

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self._loaded is not None:
            return self._loaded.matches(scope)
        if scope["type"] not in ("http", "websocket") or not self.covers(_route_path(scope)):
            return Match.NONE, {}
        return self.load().matches(scope)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.load().handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        return self.load().url_path_for(name, **path_params)

    def __repr__(self) -> str:
        return f"LazyRouter({self.module!r}, prefixes={self.prefixes!r})"


def _route_path(scope: Scope) -> str:
    """The request's path below the app's ``root_path`` (what the routes' paths are matched against)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :] or "/"
    return path


def add_router(
    app: FastAPI, module: str, prefixes: tuple[str, ...] | None, dependencies: Sequence[Any] = ()
) -> None:
    """Include ``module``'s router now, or (given its path prefixes) on first use; with
    ``dependencies`` run before each of its routes either way."""
    if prefixes is None:
        app.include_router(importlib.import_module(module).router, dependencies=list(dependencies))
    else:
        app.router.routes.append(LazyRouter(app, module, prefixes, dependencies))


def load_all(app: FastAPI) -> None:
    """Build every router still waiting for its first request."""
    for route in list(app.router.routes):
        if isinstance(route, LazyRouter):
            route.load()
