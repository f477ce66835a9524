"""CORS for a Deck served from another origin (api.cors.allowed_origins; Gate's CorsFilter).

Deck's REST client (packages/core/src/api/ApiService.ts) sends every call with
``withCredentials: true``, so the browser needs the origin echoed back with
``Access-Control-Allow-Credentials: true`` and a preflight answered for JSON POSTs and PUTs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gennaker.config import ConfigError, load_settings
from gennaker.services import Services
from tests.api.live import SyncClient

MakeApi = Callable[..., tuple[Services, SyncClient]]
DECK = "http://deck.example.com:9000"
PATTERN = r"^https://[a-z0-9-]+\.deck\.example\.org$"


def test_no_cors_headers_by_default(make_api: MakeApi) -> None:
    _, client = make_api()
    response = client.get("/applications", headers={"Origin": DECK})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    preflight = client.request(
        "OPTIONS", "/applications", headers={"Origin": DECK, "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_allowed_origin_is_echoed_with_credentials(make_api: MakeApi) -> None:
    _, client = make_api(api__cors__allowed_origins=[DECK, PATTERN])
    for origin in (DECK, "https://team-a.deck.example.org"):
        response = client.get("/applications", headers={"Origin": origin})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == origin
        assert response.headers["access-control-allow-credentials"] == "true"
        assert "Origin" in response.headers["vary"]


def test_errors_carry_cors_headers_too(make_api: MakeApi) -> None:
    """A 404 must reach Deck's code (it shows the message) instead of failing as a CORS error."""
    _, client = make_api(api__cors__allowed_origins=[DECK])
    response = client.get("/applications/absent", headers={"Origin": DECK})
    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == DECK


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example.com", "https://x.deck.example.org.evil.com", "null", "http://deck.example.com"],
)
def test_other_origins_get_nothing(make_api: MakeApi, origin: str) -> None:
    _, client = make_api(api__cors__allowed_origins=[DECK, PATTERN])
    response = client.get("/applications", headers={"Origin": origin})
    assert "access-control-allow-origin" not in response.headers
    preflight = client.request(
        "OPTIONS", "/applications", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers


def test_preflight_is_answered_before_authentication(make_api: MakeApi) -> None:
    """Browsers send preflights without credentials; with auth on they must still succeed."""
    _, client = make_api(api__cors__allowed_origins=[DECK], auth__enabled=True)
    preflight = client.request(
        "OPTIONS",
        "/pipelines",
        headers={
            "Origin": DECK,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == DECK
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "content-type" in preflight.headers["access-control-allow-headers"]
    unauthenticated = client.get("/applications", headers={"Origin": DECK})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["access-control-allow-origin"] == DECK


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (["*"], "cannot be used"),
        (["^https://(unclosed"], "not a valid regular expression"),
        (["deck"], "not an origin"),
    ],
)
def test_bad_origin_settings_are_refused(value: Any, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={}, overrides={"api.cors.allowed_origins": value})
    assert "api.cors.allowed_origins" in str(caught.value)
    assert fragment in str(caught.value)


def test_origins_from_the_environment() -> None:
    settings = load_settings(environ={"GENNAKER_CORS_ALLOWED_ORIGINS": f"{DECK}, {PATTERN}"})
    assert settings.api.cors.allowed_origins == (DECK, PATTERN)
