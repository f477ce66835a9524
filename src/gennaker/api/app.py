"""The app factory: ``create_app(services)`` builds the ASGI app that serves Gate's API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI

from gennaker import __version__
from gennaker.api.body_limit import BodyLimitMiddleware
from gennaker.api.cors import CorsMiddleware
from gennaker.api.errors import CatchAllMiddleware, install_error_handlers
from gennaker.api.host_guard import HostGuardMiddleware
from gennaker.api.json_guard import JsonGuardMiddleware
from gennaker.api.lazy_routes import add_router, load_all
from gennaker.api.metrics import MetricsCollector
from gennaker.api.models import add_error_schemas
from gennaker.api.permissions import enforce
from gennaker.api.route_permissions import document_permissions
from gennaker.api.routes import LAZY_PREFIXES, ROUTER_MODULES
from gennaker.api.search import SearchSources, builtin_search_sources
from gennaker.api.stream_hub import EventHub
from gennaker.authn.middleware import AuthMiddleware
from gennaker.authn.signin import password_sign_in
from gennaker.services import Services

DESCRIPTION = """Gate-compatible REST API of Gennaker: applications, pipeline configs and templates,
executions and operator actions, ad-hoc tasks, live updates (Server-Sent Events), health and metrics.
Errors are `{timestamp, status, error, message}` (plus `errors: [{path, message}]` for validation)."""


log = logging.getLogger(__name__)


async def _refresh_roles(services: Services) -> None:
    """Fiat's role sync: refresh cached roles in the background, every half TTL, so requests
    rarely wait on a role provider."""
    interval = services.authz.settings.role_cache_ttl_seconds / 2
    while True:
        await asyncio.sleep(interval)
        try:
            await anyio.to_thread.run_sync(services.authz.cache.refresh_due)
        except Exception:  # a provider's failure is recorded by the cache; keep syncing
            log.exception("refreshing cached roles failed")


def create_app(services: Services, *, search_sources: SearchSources | None = None) -> FastAPI:
    """The API over ``services``; every module in ROUTER_MODULES contributes its ``router``.
    ``search_sources`` answer ``GET /search`` (default: applications, projects, pipelines and what
    plugins add through the ``register_search_sources`` hook)."""
    hub = EventHub(services)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Route handlers run in worker threads and each holds a database connection: more threads
        # than the pool has connections only queue on the pool (and fight over the GIL).
        pool_size = getattr(services.db.engine.pool, "size", lambda: 5)()
        anyio.to_thread.current_default_thread_limiter().total_tokens = int(pool_size) + 2
        refresher = asyncio.create_task(_refresh_roles(services)) if services.authz.enabled else None
        try:
            yield
        finally:
            if refresher is not None:
                refresher.cancel()
            hub.close()

    app = FastAPI(
        title="Gennaker",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.services = services
    app.state.events = hub
    if search_sources is None:
        search_sources = builtin_search_sources()
        services.plugins.hook.register_search_sources(sources=search_sources, settings=services.settings)
    app.state.search_sources = search_sources
    app.state.metrics = MetricsCollector(services)
    install_error_handlers(app)
    app.add_middleware(JsonGuardMiddleware)
    # One password check and throttle for HTTP Basic and the web UI's sign-in form.
    app.state.sign_in = password_sign_in(services)
    app.add_middleware(AuthMiddleware, services=services, sign_in=app.state.sign_in)
    server = services.settings.server
    if not services.settings.auth.enabled:
        app.add_middleware(HostGuardMiddleware, allowed=server.allowed_hosts, public_url=server.public_url)
    app.add_middleware(CatchAllMiddleware)
    # Outside the catch-all, so an oversized body is refused before anything else reads it.
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=server.max_body_bytes, max_config_bytes=server.max_config_body_bytes
    )
    # Outermost, so preflights are answered before authentication and errors carry CORS headers.
    app.add_middleware(CorsMiddleware, allowed_origins=services.settings.api.cors.allowed_origins)
    for name in ROUTER_MODULES:
        # Every route's declared permission is checked before its handler (api/permissions.py).
        add_router(app, name, LAZY_PREFIXES.get(name), dependencies=[Depends(enforce)])
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            load_all(app)  # the document describes every route, built or not yet
            app.openapi_schema = add_error_schemas(build_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    document_permissions(app)
    return app
