"""``#fromUrl`` and friends against a real HTTP server on 127.0.0.1, through the outbound policy
(loopback opened by an explicit allow entry, as an operator would)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

from gennaker.expressions import Limits, evaluate
from gennaker.outbound import OutboundPolicy, fetcher

Route = Callable[[str, int, str, bytes], str]
ALLOW_LOCAL = OutboundPolicy(allow=("127.0.0.1",))


def run(text: str, policy: OutboundPolicy = ALLOW_LOCAL, **opts: Any) -> Any:
    return evaluate(text, {}, url_fetcher=fetcher(policy, "expression"), **opts)


def test_from_url(http_server: Route) -> None:
    url = http_server("/plain", 200, "text/plain; charset=utf-8", "h\u00e9llo".encode())
    assert run(f"${{#fromUrl('{url}')}}").value == "h\u00e9llo"


def test_json_yaml_and_properties_from_url(http_server: Route) -> None:
    json_url = http_server("/doc.json", 200, "application/json", json.dumps({"a": {"b": [1, 2]}}).encode())
    list_url = http_server("/list.json", 200, "application/json", b'["x", "y"]')
    yaml_url = http_server("/doc.yaml", 200, "text/yaml", b"a: 1\nb:\n  - x\n")
    props_url = http_server("/p.properties", 200, "text/plain", b"# c\nversion=0.1.0\nname = app\\\n  name\n")
    assert run(f"${{#jsonFromUrl('{json_url}')['a']['b'][1]}}").value == 2
    assert run(f"${{#jsonFromUrl('{list_url}')}}").value == ["x", "y"]
    assert run(f"${{#yamlFromUrl('{yaml_url}').b[0]}}").value == "x"
    assert run(f"${{#propertiesFromUrl('{props_url}')}}").value == {"version": "0.1.0", "name": "appname"}


def test_loopback_is_denied_without_an_allow_entry(http_server: Route) -> None:
    url = http_server("/plain", 200, "text/plain", b"secret")
    result = run(f"${{#fromUrl('{url}')}}", OutboundPolicy())
    (entries,) = result.summary.failures.values()
    assert entries[0]["exceptionType"] == "com.netflix.spinnaker.kork.expressions.SpelHelperFunctionException"
    assert "127.0.0.1 is a loopback address" in entries[0]["description"]


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://169.254.169.254/",
        "http://localhost/",
        "http://[::1]/",
        "ftp://example.com/",
    ],
)
def test_spinnaker_restricted_urls_fail(url: str) -> None:
    result = run(f"${{ #fromUrl('{url}')}}", OutboundPolicy())
    assert result.value == f"${{ #fromUrl('{url}')}}"
    (entries,) = result.summary.failures.values()
    assert entries[0]["level"] == "ERROR" and "denied" in entries[0]["description"]


def test_size_limit(http_server: Route) -> None:
    url = http_server("/big", 200, "text/plain", b"x" * 5000)
    result = run(f"${{#fromUrl('{url}')}}", limits=Limits(url_max_bytes=1000))
    (entries,) = result.summary.failures.values()
    assert "larger than 1000 bytes" in entries[0]["description"]


def test_http_errors(http_server: Route) -> None:
    url = http_server("/gone", 404, "text/plain", b"nope")
    (entries,) = run(f"${{#fromUrl('{url}')}}").summary.failures.values()
    assert "HTTP status 404" in entries[0]["description"]


def test_redirect_to_a_denied_address_is_refused(http_server: Route) -> None:
    url = http_server("/hop", 302, "text/plain", b"http://169.254.169.254/latest/meta-data")
    (entries,) = run(f"${{#fromUrl('{url}')}}").summary.failures.values()
    assert "cloud metadata" in entries[0]["description"]


def test_bad_json_from_url(http_server: Route) -> None:
    url = http_server("/bad.json", 200, "application/json", b"{not json")
    (entries,) = run(f"${{#jsonFromUrl('{url}')}}").summary.failures.values()
    assert "#readJson" in entries[0]["description"]


def test_url_helpers_without_a_fetcher_fail_cleanly() -> None:
    result = evaluate("${#fromUrl('http://example.com/')}", {})
    (entries,) = result.summary.failures.values()
    assert "URL functions are not configured" in entries[0]["description"]


def test_the_evaluation_time_limit_covers_url_fetches() -> None:
    """Item 3 of issue #10: the 2 s evaluation limit did not cover URL fetches (their time was
    added back), so one #fromUrl to a slow URL held its evaluation for the whole fetch timeout.
    The server here accepts the connection and never answers."""
    with socket.socket() as stalled:
        stalled.bind(("127.0.0.1", 0))
        stalled.listen(8)
        url = f"http://127.0.0.1:{stalled.getsockname()[1]}/slow"
        limits = Limits(max_seconds=0.3, url_timeout_seconds=30)
        for helper in ("fromUrl", "jsonFromUrl"):
            result = run(f"${{#{helper}('{url}')}}", limits=limits)
            (entries,) = result.summary.failures.values()
            assert entries[0]["description"].endswith("expression ran longer than 0.3 seconds"), entries


def test_json_from_url_errors_name_json_from_url() -> None:
    """Item 16 of issue #10: #jsonFromUrl's errors said #fromUrl."""
    result = run("${#jsonFromUrl('http://169.254.169.254/')}", OutboundPolicy())
    (entries,) = result.summary.failures.values()
    assert "#jsonFromUrl(http://169.254.169.254/) failed" in entries[0]["description"]
