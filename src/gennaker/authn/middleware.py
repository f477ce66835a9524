"""The authentication middleware: with ``auth.enabled``, every request but ``GET /health`` must carry
a valid API token (``Authorization: Bearer``) or a local user's password (HTTP Basic). The web UI
signs in once (``POST /ui/login``) and then sends its token in the HttpOnly cookie ``gennaker_session``
(never in a URL); a request authenticated by that cookie that changes something must also carry
``X-Gennaker-UI`` (a header a cross-site form cannot send), so the cookie cannot be used for CSRF.

The authenticated name goes to ``request.state.user``; routes pass it down as ``trigger.user``,
``lastModified.user``, ``canceledBy``. Verifying a PBKDF2 hash is deliberately slow, so a
successful Basic credential is remembered (by its sha256) for a minute.

HTTP Basic gives nothing away by timing, and failed sign-ins are throttled per user name and per
client address (429 with Retry-After once ``auth.login_failures_per_*`` are spent), the web UI's
sign-in form counting against the same allowance (``authn.sign_in``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import time
from collections import OrderedDict
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import anyio.to_thread
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from gennaker.api.errors import error_response
from gennaker.authn.sign_in import PasswordSignIn, Throttled
from gennaker.authn.signin import SignInUnavailable, password_sign_in
from gennaker.authn.tokens import ApiToken, TokenRepository

if TYPE_CHECKING:
    from gennaker.services import Services

log = logging.getLogger(__name__)

#: Paths anyone may call (load balancers and probes do not carry credentials; the login page and
#: its style sheet must load before signing in).
PUBLIC_PATHS = frozenset(
    {"/health", "/ui/login", "/login", "/auth/loggedOut", "/login/oidc", "/login/oidc/callback"}
)
PUBLIC_PREFIXES = ("/ui/static/",)
#: The web UI's session: an API token in an HttpOnly, SameSite=Strict cookie.
SESSION_COOKIE = "gennaker_session"
#: Header the UI's scripts send with every request; required with the cookie for unsafe methods.
UI_HEADER = "x-gennaker-ui"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Incoming webhooks come from CI systems and registries that cannot log in; as in Gate (whose
#: ``/webhooks/**`` is open unless ``webhooks.default-auth-enabled``), they are authenticated by
#: their own means (git ``secret`` signatures, payload constraints). ``auth.webhooks_require_auth``
#: closes them.
WEBHOOK_PREFIX = "/webhooks/"
WEBHOOK_NOT_PUBLIC = frozenset({"/webhooks/preconfigured"})
CHALLENGES = ('Bearer realm="gennaker"', 'Basic realm="gennaker", charset="UTF-8"')
_CACHE_SECONDS = 60.0
_CACHE_SIZE = 1024


class AuthMiddleware:
    """Authenticates HTTP requests (a pure ASGI middleware, so streams are not buffered)."""

    def __init__(self, app: ASGIApp, services: Services, sign_in: PasswordSignIn | None = None) -> None:
        self.app = app
        self.services = services
        auth = services.settings.auth
        self.enabled = auth.enabled
        self.open_webhooks = not auth.webhooks_require_auth
        self.tokens = TokenRepository()
        self._basic_ok: OrderedDict[str, tuple[str, float]] = OrderedDict()
        #: Shared with the web UI's sign-in form (one allowance of failures for both).
        self.sign_in = sign_in if sign_in is not None else password_sign_in(services)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"authorization")
        client = scope.get("client")
        address = str(client[0]) if client else ""
        if self._public(scope):
            if header:  # credentials on an open path only add detail (GET /health)
                try:
                    user, _ = await self.authenticate(header, address)
                except Throttled:
                    user = None
                if user is not None:
                    scope.setdefault("state", {})["user"] = user
            await self.app(scope, receive, send)
            return
        from_cookie = False
        if not header:
            session = _cookie(scope, SESSION_COOKIE)
            if session:
                header, from_cookie = f"Bearer {session}", True
        try:
            user, problem = await self.authenticate(header, address)
        except Throttled as exc:
            response = error_response(
                429,
                f"too many failed sign-ins {exc.what}; try again in {exc.retry_after} seconds",
                headers={"retry-after": str(exc.retry_after)},
            )
            await response(scope, receive, send)
            return
        if user is not None and from_cookie and scope.get("method") not in SAFE_METHODS:
            if _header(scope, UI_HEADER.encode()) is None:
                user, problem = None, f"a request signed in by cookie must carry the {UI_HEADER} header"
        if user is None:
            if _wants_page(scope):
                await _to_login(scope, receive, send)
                return
            response = error_response(401, problem)
            for challenge in CHALLENGES:
                response.raw_headers.append((b"www-authenticate", challenge.encode()))
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)

    def _public(self, scope: Scope) -> bool:
        path = str(scope["path"])
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return True
        return (
            self.open_webhooks
            and scope.get("method") == "POST"
            and path.startswith(WEBHOOK_PREFIX)
            and path not in WEBHOOK_NOT_PUBLIC
        )

    async def authenticate(self, header: str | None, address: str = "") -> tuple[str | None, str]:
        """(user, "") for a valid credential, else (None, why not); Throttled when the user name
        or the client address has spent its failed sign-ins."""
        if not header:
            return None, "authentication required: send 'Authorization: Bearer <token>' or HTTP Basic"
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            token = await anyio.to_thread.run_sync(self._lookup_token, value)
            if token is None:
                return None, "the API token is unknown or revoked"
            return token.user, ""
        if scheme.lower() == "basic" and value:
            try:
                user = await self._basic(value, address)
            except SignInUnavailable as exc:
                return None, str(exc)
            if user is None:
                return None, "wrong user name or password"
            return user, ""
        return None, "unsupported Authorization scheme; use Bearer or Basic"

    def _lookup_token(self, secret: str) -> ApiToken | None:
        with self.services.db.read() as conn:
            return self.tokens.lookup(conn, secret)

    async def _basic(self, value: str, address: str) -> str | None:
        key = hashlib.sha256(value.encode()).hexdigest()
        cached = self._basic_ok.get(key)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        name, sep, password = decoded.partition(":")
        if not sep:
            return None
        if not await self.sign_in.check(name, password, address):
            return None
        self._remember(key, name, now)
        return name

    def _remember(self, key: str, name: str, now: float) -> None:
        self._basic_ok[key] = (name, now + _CACHE_SECONDS)
        self._basic_ok.move_to_end(key)
        while len(self._basic_ok) > _CACHE_SIZE:
            self._basic_ok.popitem(last=False)


def _wants_page(scope: Scope) -> bool:
    """A browser navigating to a UI page (sent to the login page rather than given a 401)."""
    path = str(scope["path"])
    return (
        scope.get("method") == "GET"
        and (path == "/" or path.startswith("/ui/"))
        and "text/html" in (_header(scope, b"accept") or "")
    )


async def _to_login(scope: Scope, receive: Receive, send: Send) -> None:
    path = str(scope["path"])
    target = "/ui/login" if path in ("/", "/ui/") else "/ui/login?" + urlencode({"next": path})
    await RedirectResponse(target, status_code=303)(scope, receive, send)


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None and morsel.value else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
