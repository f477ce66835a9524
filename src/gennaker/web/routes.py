"""The UI's routes, mounted by the API app (``gennaker.api.routes.ROUTER_MODULES``): ``/`` sends a
browser to ``/ui/``, static files, sign-in, and the pages (one module each under ``pages/``)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, HTTPException
from fastapi.responses import RedirectResponse, Response

from gennaker.web import session
from gennaker.web.pages import applications, editor, execution, executions, infrastructure

router = APIRouter(include_in_schema=False)

_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}


@router.get("/")
def root() -> RedirectResponse:
    """A browser opening the server's address lands on the UI."""
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui")
def ui_root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui/static/{name}")
def static(name: str) -> Response:
    """The UI's own style sheet and script (versioned URLs, so they are cached for long)."""
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or name.startswith(".") or suffix not in _TYPES:
        raise HTTPException(404, "not found")
    file = resources.files("gennaker.web").joinpath("static", name)
    if not file.is_file():
        raise HTTPException(404, "not found")
    return Response(
        file.read_bytes(),
        media_type=_TYPES[suffix],
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


for module in (session, applications, executions, execution, editor, infrastructure):
    router.include_router(module.router)
