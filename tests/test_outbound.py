"""The outbound HTTP policy and ``fetch_text``, against a real HTTP server on 127.0.0.1 (opened
through an explicit allow entry, as an operator would). Host-name resolution is the system's,
except where a test needs a name that resolves to given addresses: those pass a resolver."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from gennaker.outbound import FetchFailed, OutboundDenied, OutboundError, OutboundPolicy, fetch_text, fetcher


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that stop reading (size and time limits) are expected here; stay quiet."""


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/host":
            self._send(200, (self.headers.get("Host") or "").encode())
        elif self.path == "/big":
            self._send(200, b"x" * 10_000)
        elif self.path == "/stream":  # no Content-Length: the body ends when the connection closes
            self.send_response(200)
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"y" * 1000)
        elif self.path == "/slow":
            time.sleep(1.0)
            self._send(200, b"late")
        elif self.path.startswith("/redirect?"):
            self.send_response(302)
            self.send_header("Location", self.path.split("?", 1)[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/latin1":
            self.send_response(200)
            body = "caf\u00e9".encode("latin-1")
            self.send_header("Content-Type", "text/plain; charset=iso-8859-1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self._send(404, b"not found")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


LOCAL = OutboundPolicy(allow=("127.0.0.1",))


def resolving(*addresses: str) -> Callable[[str, int], list[str]]:
    return lambda host, port: list(addresses)


# -- check ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/", "gopher://x/", "javascript:alert(1)"]
)
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(OutboundDenied, match="only http and https"):
        OutboundPolicy().check(url, "webhook")


@pytest.mark.parametrize("purpose", ["webhook", "notification", "expression"])
@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/",
    ],
)
def test_cloud_metadata_is_denied_for_every_purpose(url: str, purpose: str) -> None:
    policy = OutboundPolicy(resolver=resolving("169.254.169.254"))
    with pytest.raises(OutboundDenied, match="metadata"):
        policy.check(url, purpose)


def test_metadata_can_be_opened_explicitly() -> None:
    assert OutboundPolicy(allow=("169.254.169.254",)).check("http://169.254.169.254/", "webhook") == (
        "169.254.169.254",
    )


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.1.1", "100.64.0.1", "0.0.0.0",
     "::1", "fe80::1", "fc00::1", "fd12:3456::1", "::ffff:127.0.0.1", "224.0.0.1"],
)  # fmt: skip
def test_expression_purpose_denies_internal_ranges(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(OutboundDenied, match="refused for expression requests unless allowed"):
        OutboundPolicy().check(f"http://{host}/", "expression")


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "192.168.1.1", "::1", "fc00::1"])
def test_webhooks_and_notifiers_may_reach_the_operators_network(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    for purpose in ("webhook", "notification"):
        assert OutboundPolicy().check(f"http://{host}:8080/hook", purpose)


def test_public_addresses_are_allowed_for_expressions() -> None:
    policy = OutboundPolicy(resolver=resolving("93.184.216.34"))
    assert policy.check("https://example.com/x.json", "expression") == ("93.184.216.34",)


def test_every_resolved_address_is_checked() -> None:
    policy = OutboundPolicy(resolver=resolving("93.184.216.34", "10.1.2.3"))
    with pytest.raises(OutboundDenied, match="10.1.2.3 is a private"):
        policy.check("https://sneaky.example.com/", "expression")


def test_localhost_by_name_is_resolved_and_denied() -> None:
    with pytest.raises(OutboundDenied, match="loopback"):
        OutboundPolicy().check("http://localhost:8080/", "expression")


def test_allow_entries_open_default_denied_ranges() -> None:
    assert OutboundPolicy(allow=("10.0.0.0/8",)).check("http://10.9.8.7/", "expression")
    assert OutboundPolicy(allow=("artifacts.internal",), resolver=resolving("10.1.1.1")).check(
        "http://artifacts.internal/a", "expression"
    )
    assert OutboundPolicy(allow=("*.corp.example",), resolver=resolving("10.1.1.1")).check(
        "http://repo.corp.example/a", "expression"
    )


def test_wildcards_do_not_match_the_bare_domain() -> None:
    policy = OutboundPolicy(allow=("*.corp.example",), resolver=resolving("10.1.1.1"))
    with pytest.raises(OutboundDenied):
        policy.check("http://corp.example/", "expression")


def test_deny_wins_over_allow() -> None:
    policy = OutboundPolicy(allow=("10.0.0.0/8",), deny=("10.6.0.0/16",))
    assert policy.check("http://10.5.0.1/", "expression")
    with pytest.raises(OutboundDenied, match="deny list entry '10.6.0.0/16'"):
        policy.check("http://10.6.0.1/", "expression")


@pytest.mark.parametrize("entry", ["evil.example", "*.example", "93.184.216.0/24", "93.184.216.34"])
def test_deny_entries_apply_to_every_purpose(entry: str) -> None:
    policy = OutboundPolicy(deny=(entry,), resolver=resolving("93.184.216.34"))
    for purpose in ("webhook", "notification", "expression"):
        with pytest.raises(OutboundDenied, match="deny list"):
            policy.check("https://evil.example/hook", purpose)


def test_host_names_compare_case_insensitively_and_ignore_a_trailing_dot() -> None:
    policy = OutboundPolicy(deny=("Evil.Example",), resolver=resolving("93.184.216.34"))
    with pytest.raises(OutboundDenied):
        policy.check("https://EVIL.example./", "webhook")


def test_unknown_purpose_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown outbound purpose"):
        OutboundPolicy().check("http://example.com/", "chat")


def test_urls_without_a_host_are_denied() -> None:
    with pytest.raises(OutboundDenied, match="no host"):
        OutboundPolicy().check("http:///path", "webhook")


def test_from_strings() -> None:
    policy = OutboundPolicy.from_strings(" 127.0.0.1, 10.0.0.0/8 ,", "evil.example")
    assert policy.allow == ("127.0.0.1", "10.0.0.0/8")
    assert policy.deny == ("evil.example",)


def test_denied_message_is_clear() -> None:
    with pytest.raises(OutboundDenied) as info:
        OutboundPolicy().check("http://127.0.0.1:9/x", "expression")
    assert info.value.url == "http://127.0.0.1:9/x"
    assert str(info.value) == (
        "Outbound request to http://127.0.0.1:9/x denied: 127.0.0.1 is a loopback address, "
        "refused for expression requests unless allowed"
    )
    assert isinstance(info.value, OutboundError)


# -- fetch_text -------------------------------------------------------------------------------


def test_fetch_text_through_an_allow_entry(base: str) -> None:
    assert fetch_text(f"{base}/host", LOCAL, "expression", timeout_s=5, max_bytes=1000) == base.removeprefix(
        "http://"
    )


def test_fetch_text_is_denied_without_the_allow_entry(base: str) -> None:
    with pytest.raises(OutboundDenied):
        fetch_text(f"{base}/host", OutboundPolicy(), "expression", timeout_s=5, max_bytes=1000)


def test_webhook_purpose_reaches_loopback_by_default(base: str) -> None:
    assert fetch_text(f"{base}/host", OutboundPolicy(), "webhook", timeout_s=5, max_bytes=1000)


def test_connects_to_the_checked_address_and_keeps_the_host_header(base: str) -> None:
    port = base.rsplit(":", 1)[1]
    policy = OutboundPolicy(allow=("artifacts.test",), resolver=resolving("127.0.0.1"))
    assert fetch_text(
        f"http://artifacts.test:{port}/host", policy, "expression", timeout_s=5, max_bytes=100
    ) == (f"artifacts.test:{port}")


def test_size_limit_with_content_length(base: str) -> None:
    with pytest.raises(FetchFailed, match="larger than 100 bytes"):
        fetch_text(f"{base}/big", LOCAL, "expression", timeout_s=5, max_bytes=100)


def test_size_limit_while_streaming(base: str) -> None:
    with pytest.raises(FetchFailed, match="larger than 5000 bytes"):
        fetch_text(f"{base}/stream", LOCAL, "expression", timeout_s=5, max_bytes=5000)
    assert len(fetch_text(f"{base}/stream", LOCAL, "expression", timeout_s=5, max_bytes=200_000)) == 100_000


def test_timeout(base: str) -> None:
    with pytest.raises(FetchFailed, match="took longer than 0.2 seconds"):
        fetch_text(f"{base}/slow", LOCAL, "expression", timeout_s=0.2, max_bytes=100)


def test_http_error_status(base: str) -> None:
    with pytest.raises(FetchFailed, match="HTTP status 404"):
        fetch_text(f"{base}/missing", LOCAL, "expression", timeout_s=5, max_bytes=100)


def test_redirects_are_followed_and_checked(base: str) -> None:
    assert fetch_text(f"{base}/redirect?/host", LOCAL, "expression", timeout_s=5, max_bytes=100)
    with pytest.raises(OutboundDenied, match="metadata"):
        fetch_text(f"{base}/redirect?http://169.254.169.254/", LOCAL, "webhook", timeout_s=5, max_bytes=100)
    with pytest.raises(FetchFailed, match="redirects"):
        fetch_text(f"{base}/loop", LOCAL, "expression", timeout_s=5, max_bytes=100)


def test_declared_charset_is_used(base: str) -> None:
    assert fetch_text(f"{base}/latin1", LOCAL, "expression", timeout_s=5, max_bytes=100) == "caf\u00e9"


def test_connection_refused_is_a_fetch_failure() -> None:
    with pytest.raises(FetchFailed, match="cannot connect"):
        fetch_text("http://127.0.0.1:9/", LOCAL, "webhook", timeout_s=5, max_bytes=100)


def test_unresolvable_host_is_a_fetch_failure() -> None:
    with pytest.raises(FetchFailed, match="cannot resolve host"):
        fetch_text("http://no-such-host.invalid/", OutboundPolicy(), "webhook", timeout_s=5, max_bytes=100)


def test_fetcher_binds_policy_and_purpose(base: str) -> None:
    fetch = fetcher(LOCAL, "expression")
    assert fetch(f"{base}/host", timeout_s=5, max_bytes=100)
    with pytest.raises(OutboundDenied):
        fetcher(OutboundPolicy(), "expression")(f"{base}/host", timeout_s=5, max_bytes=100)
