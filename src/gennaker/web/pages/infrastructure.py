"""Infrastructure (clusters, server groups, instances, load balancers) and canary views. Their data
comes from Gate endpoints that cloud providers and canary analysis add to the API when they are
installed, so the pages are drawn by the script from those endpoints, and say so when they are
absent (a 404: no cloud provider / no canary analysis configured)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gennaker.errors import NotFound
from gennaker.services import Services
from gennaker.web.templating import render

router = APIRouter()


def _page(request: Request, application: str, template: str) -> Response:
    services: Services = request.app.state.services
    with services.db.read() as conn:
        try:
            app = services.applications.get(conn, application)
        except NotFound as exc:
            return render(request, "not_found.html", status_code=404, message=str(exc))
    return render(request, template, application=app["name"], app=app)


@router.get("/ui/applications/{application}/infrastructure")
def infrastructure(request: Request, application: str) -> Response:
    """Clusters, server groups, instances and load balancers of the application."""
    return _page(request, application, "infrastructure.html")


@router.get("/ui/applications/{application}/canary")
def canary(request: Request, application: str) -> Response:
    """Canary configs and the application's canary judgments."""
    return _page(request, application, "canary.html")
