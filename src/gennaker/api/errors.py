"""Errors in Gate's shape: ``{timestamp, status, error, message}`` (+ ``errors: [{path, message}]`` for
validation), never a stack trace."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gennaker.api.responses import json_response
from gennaker.db import DatabaseUnavailable
from gennaker.errors import FieldError, GennakerError, InvalidInput

log = logging.getLogger(__name__)


def error_body(status: int, message: str, errors: Sequence[FieldError] = ()) -> dict[str, Any]:
    """Gate's error document."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    body: dict[str, Any] = {
        "timestamp": time.time_ns() // 1_000_000,
        "status": status,
        "error": reason,
        "message": message,
    }
    if errors:
        body["errors"] = [{"path": e.path, "message": e.message} for e in errors]
    return body


def error_response(
    status: int, message: str, errors: Sequence[FieldError] = (), headers: dict[str, str] | None = None
) -> Response:
    """A JSON error response."""
    return json_response(error_body(status, message, errors), status_code=status, headers=headers)


def _json_path(loc: Sequence[Any]) -> str:
    """``("body", "stages", 0, "refId")`` -> ``$.stages[0].refId``; query/path/header keep their source."""
    if not loc:
        return "$"
    source, rest = loc[0], loc[1:]
    if source == "body":
        path = "$"
    else:
        path = str(source)
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


_FRIENDLY = {
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "list_type": "must be a JSON array",
}


def validation_errors(exc: RequestValidationError) -> list[FieldError]:
    """FastAPI's validation failures as FieldErrors with JSON paths."""
    found = []
    for err in exc.errors():
        loc = tuple(err.get("loc") or ())
        if err.get("type") == "json_invalid":
            detail = (err.get("ctx") or {}).get("error") or err.get("msg")
            found.append(FieldError("$", f"malformed JSON: {detail}"))
            continue
        message = _FRIENDLY.get(str(err.get("type")), str(err.get("msg") or "is invalid"))
        if err.get("type") == "missing":
            message = "is required" if len(loc) > 1 else "a request body is required"
        found.append(FieldError(_json_path(loc), message))
    return found


async def _gennaker_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GennakerError)
    errors = exc.errors if isinstance(exc, InvalidInput) else ()
    return error_response(exc.status, exc.message, errors)


_BODY_TYPES = frozenset({"dict_type", "model_type", "model_attributes_type", "list_type"})


def _wrong_content_type(request: Request, exc: RequestValidationError) -> str | None:
    """The content type of a request whose JSON body was not read as JSON because of it."""
    content_type = request.headers.get("content-type", "")
    if "json" in content_type.lower():
        return None
    for err in exc.errors():
        if tuple(err.get("loc") or ()) == ("body",) and err.get("type") in _BODY_TYPES:
            return content_type or "(none)"
    return None


async def _request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    content_type = _wrong_content_type(request, exc)
    if content_type is not None:
        return error_response(
            415, f"send the body as Content-Type: application/json (this request said {content_type})"
        )
    errors = validation_errors(exc)
    if any(e.message.startswith("malformed JSON") for e in errors):
        return error_response(400, "the request body is not valid JSON", errors)
    return error_response(400, "; ".join(str(e) for e in errors) or "invalid request", errors)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such endpoint: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        allowed = allowed_methods(request)
        headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() != "allow"}
        headers["allow"] = ", ".join(allowed)
        if request.method == "OPTIONS":
            # What Spring answers (and so Gate): the methods this path takes, no error.
            return Response(status_code=200, headers=headers)
        message = (
            f"method {request.method} is not allowed on {request.url.path} (allowed: {headers['allow']})"
        )
        return error_response(405, message, headers=headers)
    return error_response(exc.status_code, message, headers=dict(exc.headers or {}))


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method the router would dispatch at the request's path (Starlette's 405 names only
    the methods of the first route whose path matches)."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return [*allowed, "OPTIONS"]


async def _database_down(request: Request, exc: Exception) -> Response:
    log.warning("database unavailable during %s %s: %s", request.method, request.url.path, exc)
    return error_response(503, "the database is unavailable; try again shortly")


async def _overflow(request: Request, exc: Exception) -> Response:
    # A number from the request too large for the database (SQLite binds 64-bit integers only):
    # the caller's input, not a server fault, whichever route let it through.
    log.warning("number out of range in %s %s: %s", request.method, request.url.path, exc)
    return error_response(400, "a number in the request is out of range (integers must fit in 64 bits)")


async def _data_error(request: Request, exc: Exception) -> Response:
    # PostgreSQL refusing a value from the request (a number out of range, a string too long).
    assert isinstance(exc, sa.exc.DataError)
    detail = str(exc.orig).splitlines()[0] if exc.orig is not None else "invalid value"
    log.warning("value refused by the database in %s %s: %s", request.method, request.url.path, detail)
    return error_response(400, f"a value in the request does not fit: {detail}")


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error handling %s %s", request.method, request.url.path)
    return error_response(500, "internal error; the server log has the details")


class BodyTooLarge(Exception):
    """Raised into whatever reads a request body past the size cap (body_limit answers 413)."""


class CatchAllMiddleware:
    """The last resort: an unexpected exception becomes a logged 500 in Gate's shape.

    Starlette's own catch-all re-raises after answering, which makes the server log the same
    traceback twice; this one answers and stops there."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except BodyTooLarge:
            raise  # not a bug: the body cap, outside this middleware, answers it
        except Exception:
            log.exception("unexpected error handling %s %s", scope.get("method"), scope.get("path"))
            if started:
                return
            response = error_response(500, "internal error; the server log has the details")
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error in Gate's shape."""
    app.add_exception_handler(GennakerError, _gennaker_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DatabaseUnavailable, _database_down)
    app.add_exception_handler(sa.exc.OperationalError, _database_down)
    app.add_exception_handler(OverflowError, _overflow)
    app.add_exception_handler(sa.exc.DataError, _data_error)
    app.add_exception_handler(Exception, _unexpected)
