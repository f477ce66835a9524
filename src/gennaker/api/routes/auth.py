"""Gate's endpoints about the caller: ``GET /auth/user`` (as Deck reads it), ``/auth/loggedOut``,
Fiat's ``GET /authorize/{user}`` view, ``POST /login`` / ``POST /logout`` for a browser session, and
OpenID Connect sign-in (``GET /login/oidc`` and its callback)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gennaker.api.deps import ServicesDep, UserDep
from gennaker.api.models import ERRORS
from gennaker.api.permissions import principal_of
from gennaker.api.responses import json_response
from gennaker.authn.middleware import SESSION_COOKIE
from gennaker.authn.sign_in import PasswordSignIn, Throttled
from gennaker.authn.signin import SignInUnavailable, end_session, start_session
from gennaker.authz.model import ACCOUNT_ACTIONS, APPLICATION_ACTIONS, Principal
from gennaker.authz.oidc import OidcError, Pending
from gennaker.errors import Forbidden, InvalidInput, NotFound
from gennaker.services import Services

router = APIRouter(tags=["authentication"], responses=ERRORS)

COOKIE_SECONDS = 12 * 3600
OIDC_COOKIE = "gennaker_oidc"


def _user_view(services: Services, user: str | None) -> dict[str, Any]:
    accounts = [a.name for a in services.clouddriver.registry.accounts()]
    if user is None or not services.settings.auth.enabled:
        return {
            "username": "anonymous",
            "email": None,
            "roles": [],
            "allowedAccounts": accounts,
            "authenticated": False,
            "admin": False,
        }
    who = services.authz.principal(user)
    roles = sorted(who.roles) if who else []
    allowed = services.authz.allowed_accounts(user) if who else accounts
    return {
        "username": user,
        "email": user if "@" in user else None,
        "firstName": None,
        "lastName": None,
        "roles": roles,
        "allowedAccounts": allowed,
        "authenticated": True,
        "admin": bool(who and who.admin),
        "accountNonExpired": True,
        "accountNonLocked": True,
        "credentialsNonExpired": True,
        "enabled": True,
    }


@router.get("/auth/user", response_model=dict[str, Any])
def auth_user(services: ServicesDep, user: UserDep) -> Any:
    """The caller: name, roles and the accounts they may deploy to (Gate's User, as Deck reads it)."""
    return json_response(_user_view(services, user))


@router.get("/auth/loggedOut", response_class=HTMLResponse)
def logged_out() -> HTMLResponse:
    """Where signing out ends (Gate's page after logout)."""
    return HTMLResponse("<!doctype html><title>Signed out</title><p>You are signed out of Gennaker.</p>")


def _permission_view(services: Services, who: Principal) -> dict[str, Any]:
    authz = services.authz
    with services.db.read() as conn:
        applications = services.applications.list(conn)
    apps = []
    for document in applications:
        name = str(document.get("name"))
        granted = [
            a.value
            for a in APPLICATION_ACTIONS
            if authz.evaluator.application(who, name, document, a).allowed
        ]
        if granted:
            apps.append({"name": name, "authorizations": granted})
    accounts = []
    for account in services.clouddriver.registry.accounts():
        granted = [a.value for a in ACCOUNT_ACTIONS if authz.evaluator.account(who, account.name, a).allowed]
        if granted:
            accounts.append({"name": account.name, "authorizations": granted})
    service_accounts = [
        {"name": s.name, "memberOf": list(s.member_of)}
        for s in services.settings.auth.service_accounts
        if authz.evaluator.use_service_account(who, s.name).allowed
    ]
    return {
        "name": who.name,
        "admin": who.admin,
        "roles": [{"name": r, "source": ",".join(who.sources) or "config"} for r in sorted(who.roles)],
        "applications": apps,
        "accounts": accounts,
        "serviceAccounts": service_accounts,
        "allowAccessToUnknownApplications": not authz.settings.restrict_unconfigured_applications,
    }


@router.get("/authorize/{user}", response_model=dict[str, Any])
def authorize_view(user: str, request: Request, services: ServicesDep) -> Any:
    """Fiat's view of a user's permissions (their own, or anyone's for an admin), for debugging."""
    if not services.authz.enabled:
        raise NotFound("authorization is off (it is on whenever authentication is)")
    caller = principal_of(request)
    if caller is None or (caller.name.lower() != user.lower() and not caller.admin):
        raise Forbidden("only admins may read another user's permissions")
    return json_response(_permission_view(services, services.authz.evaluator.principal(user)))


def _session_response(request: Request, secret: str, body: Response) -> Response:
    body.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=COOKIE_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return body


@router.post("/login", response_model=dict[str, Any])
async def login(request: Request) -> Response:
    """Sign in with a user name and password (a form, or JSON ``{username, password}``); the
    session is an HttpOnly cookie, and the answer is ``GET /auth/user``'s."""
    services: Services = request.app.state.services
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        import orjson

        try:
            data = orjson.loads(raw or b"{}")
        except orjson.JSONDecodeError:
            raise InvalidInput("the body is not JSON") from None
        if not isinstance(data, dict):
            raise InvalidInput("the body must be an object {username, password}")
        form = {k: str(v) for k, v in data.items() if isinstance(v, str)}
    else:
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    if not services.settings.auth.enabled:
        return json_response(_user_view(services, None))
    name = form.get("username", "").strip()
    # The same check and allowance of failures as HTTP Basic and the UI's form (authn.sign_in).
    sign_in: PasswordSignIn = request.app.state.sign_in
    address = request.client.host if request.client else ""
    problem = "Wrong user name or password."
    try:
        ok = bool(name) and await sign_in.check(name, form.get("password", ""), address)
    except SignInUnavailable as exc:
        ok, problem = False, str(exc)
    except Throttled as exc:
        return json_response(
            {
                "status": 429,
                "error": "Too Many Requests",
                "message": f"Too many failed sign-ins {exc.what}; try again in {exc.retry_after} seconds.",
            },
            429,
            headers={"retry-after": str(exc.retry_after)},
        )
    if not ok:
        return json_response({"status": 401, "error": "Unauthorized", "message": problem}, 401)
    secret = await anyio.to_thread.run_sync(start_session, services, name)
    view = await anyio.to_thread.run_sync(_user_view, services, name)
    return _session_response(request, secret, json_response(view))


@router.post("/logout", status_code=204)
def logout(request: Request, services: ServicesDep) -> Response:
    """End the browser session (its token is revoked at once)."""
    end_session(services, request.cookies.get(SESSION_COOKIE))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/auth/logout")
def logout_redirect(request: Request, services: ServicesDep) -> Response:
    """Gate's logout for a browser: end the session, then ``/auth/loggedOut``."""
    end_session(services, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/auth/loggedOut", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _redirect_uri(services: Services, request: Request) -> str:
    oidc = services.authz.settings.oidc
    if oidc is not None and oidc.redirect_url:
        return oidc.redirect_url
    base = services.settings.server.public_url or str(request.base_url)
    return base.rstrip("/") + "/login/oidc/callback"


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/"


@router.get("/login/oidc")
def oidc_begin(request: Request, services: ServicesDep, next: str | None = None) -> Response:
    """Start OpenID Connect sign-in: off to the provider (authorization code flow with PKCE)."""
    client = services.authz.oidc
    if client is None:
        raise NotFound("OpenID Connect sign-in is not configured ([authz.oidc])")
    try:
        url, pending = client.begin(_redirect_uri(services, request), _safe_next(next))
    except OidcError as exc:
        return json_response({"status": 502, "error": "Bad Gateway", "message": str(exc)}, 502)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        OIDC_COOKIE, pending.encode(), max_age=600, httponly=True, samesite="lax", path="/login/oidc"
    )
    return response


@router.get("/login/oidc/callback")
def oidc_callback(
    request: Request,
    services: ServicesDep,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    """Where the provider sends the browser back: verify, record the roles claim, start the session."""
    client = services.authz.oidc
    if client is None or services.authz.oidc_roles is None:
        raise NotFound("OpenID Connect sign-in is not configured ([authz.oidc])")
    if error:
        return json_response(
            {
                "status": 401,
                "error": "Unauthorized",
                "message": f"the provider refused: {error} {error_description or ''}".strip(),
            },
            401,
        )
    if not code or not state:
        raise InvalidInput("the callback needs code and state")
    try:
        pending = Pending.decode(request.cookies.get(OIDC_COOKIE, ""))
        signed_in = client.finish(code, state, pending, _redirect_uri(services, request))
    except OidcError as exc:
        return json_response({"status": 401, "error": "Unauthorized", "message": str(exc)}, 401)
    services.authz.oidc_roles.record(signed_in.user, signed_in.roles)
    services.authz.cache.invalidate(signed_in.user)
    secret = start_session(services, signed_in.user)
    response = _session_response(request, secret, RedirectResponse(pending.next, status_code=303))
    response.delete_cookie(OIDC_COOKIE, path="/login/oidc")
    return response
