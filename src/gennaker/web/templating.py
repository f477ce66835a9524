"""The Jinja2 environment of the UI and the filters its templates use (status words, times)."""

from __future__ import annotations

import datetime as dt
import hashlib
from importlib import resources
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from gennaker import __version__

#: Status -> (glyph, words): status is never told by colour alone.
STATUS_WORDS: dict[str, tuple[str, str]] = {
    "NOT_STARTED": ("○", "not started"),
    "RUNNING": ("▶", "running"),
    "PAUSED": ("‖", "paused"),
    "SUSPENDED": ("‖", "suspended"),
    "SUCCEEDED": ("✓", "succeeded"),
    "FAILED_CONTINUE": ("!", "failed, continued"),
    "TERMINAL": ("✕", "terminal"),
    "CANCELED": ("⊘", "canceled"),
    "REDIRECT": ("↻", "redirect"),
    "STOPPED": ("■", "stopped"),
    "SKIPPED": ("»", "skipped"),
    "BUFFERED": ("…", "buffered"),
}


def status_glyph(status: object) -> str:
    """A one-character mark of a status."""
    return STATUS_WORDS.get(str(status), ("?", ""))[0]


def status_words(status: object) -> str:
    """A status in plain words."""
    return STATUS_WORDS.get(str(status), ("?", str(status).lower()))[1]


def clock_time(ms: object) -> str:
    """Epoch milliseconds as a UTC date and time."""
    if not isinstance(ms, int | float) or isinstance(ms, bool) or ms <= 0:
        return "—"
    try:
        moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return "—"
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(start: object, end: object, now_ms: int | None = None) -> str:
    """``1h 02m``, ``3m 05s``, ``12s`` between two epoch-ms times (to now while running)."""
    if not isinstance(start, int) or start <= 0:
        return ""
    stop = end if isinstance(end, int) and end > 0 else now_ms
    if stop is None:
        return ""
    seconds = max(0, (stop - start) // 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def path_segment(value: object) -> str:
    """A value quoted as one URL path segment (a pipeline name may hold spaces or slashes)."""
    return quote(str(value), safe="")


def pretty_json(value: Any) -> str:
    """Indented JSON for reading."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return repr(value)


def asset_version() -> str:
    """A short hash of the static files, so browsers fetch new ones after an upgrade."""
    digest = hashlib.sha256(__version__.encode())
    for name in ("gennaker.css", "gennaker.js"):
        digest.update(resources.files("gennaker.web").joinpath("static", name).read_bytes())
    return digest.hexdigest()[:10]


def environment() -> Environment:
    """A new template environment (one per app, kept on ``app.state``)."""
    env = Environment(
        loader=PackageLoader("gennaker.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        glyph=status_glyph,
        words=status_words,
        clock=clock_time,
        pretty=pretty_json,
        seg=path_segment,
    )
    version = asset_version()
    env.globals.update(duration=duration, asset_version=lambda: version)
    return env


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page; every template sees the request, the user and whether sign-in is on."""
    env = getattr(request.app.state, "web_templates", None)
    if env is None:
        env = request.app.state.web_templates = environment()
    services = request.app.state.services
    html = env.get_template(template).render(
        request=request,
        user=getattr(request.state, "user", None),
        auth_enabled=services.settings.auth.enabled,
        can=_permission_check(request),
        oidc_enabled=services.authz.oidc is not None,
        now_ms=services.clock.now_ms(),
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def _permission_check(request: Request) -> Any:
    """``can(action, application)`` for templates: whether to show an action (the API enforces
    it either way; a page only hides what would be refused)."""
    from gennaker.api.permissions import principal_of
    from gennaker.authz.model import Action

    services = request.app.state.services
    who = principal_of(request)
    answers: dict[tuple[str, str], bool] = {}

    def can(action: str, application: str | None) -> bool:
        if who is None or not application:
            return True
        key = (action.upper(), str(application).lower())
        if key not in answers:
            answers[key] = services.authz.application(who, key[1], Action(key[0])).allowed
        return answers[key]

    return can
