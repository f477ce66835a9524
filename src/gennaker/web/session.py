"""Signing in to the UI: a form for a local user's password or an API token (the mechanisms the
API already has). A password sign-in creates an API token for the user (described ``web session``);
either token is kept in an HttpOnly, SameSite=Strict cookie, never in a URL, and signing out
revokes a session token."""

from __future__ import annotations

from urllib.parse import parse_qs

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from gennaker.authn.middleware import SESSION_COOKIE, UI_HEADER
from gennaker.authn.signin import SESSION_DESCRIPTION, check_password, end_session, start_session
from gennaker.authn.tokens import TOKEN_PREFIX, TokenRepository
from gennaker.services import Services
from gennaker.web.templating import render

router = APIRouter()

__all__ = ["SESSION_DESCRIPTION", "router"]
#: The cookie lasts a working day; the token behind it until signing out (or `gennaker token revoke`).
COOKIE_SECONDS = 12 * 3600


def _safe_next(value: str | None) -> str:
    """Only paths of the UI itself (no open redirect to another site)."""
    if value and value.startswith("/ui/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/"


@router.get("/ui/login")
def login_page(request: Request, next: str | None = None) -> Response:
    """The sign-in form (straight to the UI when authentication is off)."""
    services: Services = request.app.state.services
    if not services.settings.auth.enabled:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", next=_safe_next(next), error=None, name="")


def _sign_in(services: Services, name: str, password: str, token: str) -> tuple[str | None, str]:
    """(the token to keep in the cookie, "") or (None, why not)."""
    tokens = TokenRepository()
    if token:
        with services.db.read() as conn:
            found = tokens.lookup(conn, token)
        return (token, "") if found is not None else (None, "That API token is unknown or revoked.")
    ok, problem = (
        check_password(services, name, password) if name else (False, "Wrong user name or password.")
    )
    if not ok:
        return None, problem
    return start_session(services, name), ""


@router.post("/ui/login")
async def login(request: Request) -> Response:
    """Check the form's password or token; on success set the session cookie."""
    services: Services = request.app.state.services
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    next_path = _safe_next(form.get("next"))
    if not services.settings.auth.enabled:
        return RedirectResponse(next_path, status_code=303)
    name = form.get("username", "").strip()
    token = form.get("token", "").strip()
    if token and not token.startswith(TOKEN_PREFIX):
        secret, problem = None, f"API tokens start with {TOKEN_PREFIX}."
    else:
        secret, problem = await anyio.to_thread.run_sync(
            _sign_in, services, name, form.get("password", ""), token
        )
    if secret is None:
        return render(request, "login.html", status_code=401, next=next_path, error=problem, name=name)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=COOKIE_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/ui/logout")
def logout(request: Request) -> Response:
    """Forget the session; a token made by signing in is revoked."""
    services: Services = request.app.state.services
    secret = request.cookies.get(SESSION_COOKIE)
    if secret and request.headers.get(UI_HEADER) is not None:
        end_session(services, secret)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
