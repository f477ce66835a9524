"""The REST API (Gate's paths and JSON shapes), an ASGI app built from the Services object."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from gennaker.api.search import SearchSources
    from gennaker.services import Services


def create_app(services: Services, *, search_sources: SearchSources | None = None) -> FastAPI:
    """Build the API app (imported lazily so ``import gennaker.api`` stays cheap); see
    gennaker.api.search for ``search_sources``."""
    from gennaker.api.app import create_app as factory

    return factory(services, search_sources=search_sources)
