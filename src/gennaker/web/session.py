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
from gennaker.authn.sign_in import PasswordSignIn, Throttled
from gennaker.authn.signin import SESSION_DESCRIPTION, SignInUnavailable, end_session, start_session
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


def _token_sign_in(services: Services, token: str) -> tuple[str | None, str]:
    """(the token to keep in the cookie, "") or (None, why not)."""
    with services.db.read() as conn:
        found = TokenRepository().lookup(conn, token)
    return (token, "") if found is not None else (None, "That API token is unknown or revoked.")


async def _password_sign_in(request: Request, name: str, password: str) -> tuple[str | None, str, int | None]:
    """(the session token, "", None) or (None, why not, seconds to wait when throttled). The same check and throttle as
    HTTP Basic (``authn.sign_in``): failures here count against the user name's and the address's
    allowance, and once it is spent the form is refused without checking the password."""
    services: Services = request.app.state.services
    sign_in: PasswordSignIn = request.app.state.sign_in
    address = request.client.host if request.client else ""
    try:
        matched = bool(name) and await sign_in.check(name, password, address)
    except SignInUnavailable as exc:
        return None, str(exc), None
    except Throttled as exc:
        return (
            None,
            f"Too many failed sign-ins {exc.what}; try again in {exc.retry_after} seconds.",
            (exc.retry_after),
        )
    if not matched:
        return None, "Wrong user name or password.", None
    return await anyio.to_thread.run_sync(start_session, services, name), "", None


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
    retry_after: int | None = None
    if token and not token.startswith(TOKEN_PREFIX):
        secret, problem = None, f"API tokens start with {TOKEN_PREFIX}."
    elif token:
        secret, problem = await anyio.to_thread.run_sync(_token_sign_in, services, token)
    else:
        secret, problem, retry_after = await _password_sign_in(request, name, form.get("password", ""))
    if secret is None:
        status = 401 if retry_after is None else 429
        page = render(request, "login.html", status_code=status, next=next_path, error=problem, name=name)
        if retry_after is not None:
            page.headers["retry-after"] = str(retry_after)
        return page
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
