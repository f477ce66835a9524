"""Applications: the list with search, the create and edit form (saved through Gate's
``POST /applications`` by the page's script), delete with confirmation."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from gennaker.api.permissions import principal_of
from gennaker.authz.model import Action
from gennaker.errors import NotFound
from gennaker.services import Services
from gennaker.store.applications import cloud_providers
from gennaker.web.templating import render

router = APIRouter()


@router.get("/ui/")
def application_list(request: Request, q: str = "") -> Response:
    """Every application, filtered by a search over name, owner, email and description."""
    services: Services = request.app.state.services
    with services.db.read() as conn:
        apps = services.applications.list(conn)
        counts = services.pipelines.list_all(conn)
    per_app: dict[str, int] = {}
    for config in counts:
        key = str(config.get("application", "")).lower()
        per_app[key] = per_app.get(key, 0) + 1
    words = q.lower().split()
    if words:

        def text(app: dict[str, object]) -> str:
            keys = ("name", "email", "owner", "description")
            return " ".join(str(app.get(k) or "") for k in keys).lower()

        apps = [a for a in apps if all(w in text(a) for w in words)]
    who = principal_of(request)
    if who is not None:
        read = services.authz.evaluator.application
        apps = [a for a in apps if read(who, str(a.get("name")), a, Action.READ).allowed]
    return render(request, "applications.html", apps=apps, q=q, pipeline_counts=per_app)


@router.get("/ui/applications/new")
def new_application(request: Request) -> Response:
    """The form for a new application."""
    return render(request, "application_form.html", app=None, providers="", guards="[]", permissions="{}")


@router.get("/ui/applications/{application}/config")
def edit_application(request: Request, application: str) -> Response:
    """The application's attributes, editable, and its delete button."""
    services: Services = request.app.state.services
    with services.db.read() as conn:
        try:
            app = services.applications.get(conn, application)
        except NotFound as exc:
            return render(request, "not_found.html", status_code=404, message=str(exc))
    guards = orjson.dumps(app.get("trafficGuards") or [], option=orjson.OPT_INDENT_2).decode()
    permissions = orjson.dumps(app.get("permissions") or {}).decode()
    return render(
        request,
        "application_form.html",
        app=app,
        application=app["name"],
        providers=", ".join(cloud_providers(app)),
        guards=guards,
        permissions=permissions,
    )
