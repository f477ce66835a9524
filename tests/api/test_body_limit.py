"""The request body cap, over a real socket to a real uvicorn server: a huge declared
Content-Length is refused before any of the body is sent, and a chunked body is refused as soon
as it passes the cap while the client is still sending (item 2 of issue #10)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from gennaker.services import Services
from gennaker.testing import make_services
from tests.api.live import LiveServer

LIMIT = 64 * 1024
CONFIG_LIMIT = 256 * 1024


@pytest.fixture
def live(sqlite_url: str) -> Iterator[LiveServer]:
    services: Services = make_services(
        sqlite_url, server__max_body_bytes=LIMIT, server__max_config_body_bytes=CONFIG_LIMIT
    )
    with LiveServer(services) as server:
        yield server
    services.close()


def _connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def _response(sock: socket.socket) -> tuple[int, bytes]:
    """Read until the response's head and body are in (the server closes or sends the body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(head.split(b" ", 2)[1]), body


@pytest.mark.parametrize("path", ["/webhooks/webhook/ci", "/pipelines", "/applications", "/tasks"])
def test_a_declared_length_over_the_cap_is_413_before_the_body_is_sent(live: LiveServer, path: str) -> None:
    """Item 2 of issue #10: 300 MiB to an open webhook were read whole (12.9 s, +600 MB) first."""
    with _connect(live) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {300 * 1024 * 1024}\r\n\r\n".encode()
        )
        status, body = _response(sock)  # no byte of the body was sent: only the head decides
    assert status == 413
    assert b"larger than" in body


def test_a_chunked_body_is_cut_off_once_it_passes_the_cap(live: LiveServer) -> None:
    """Item 2 of issue #10: without Content-Length the cap applies while reading. The client
    sends past the cap and then stalls without ending the body: the answer must come anyway."""
    with _connect(live) as sock:
        sock.sendall(
            b"POST /webhooks/webhook/ci HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"a" * 8192
        for _ in range(LIMIT // len(chunk) + 2):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        status, body = _response(sock)  # the terminating 0-chunk is never sent
    assert status == 413
    assert b"larger than 65536 bytes" in body


def test_config_saves_get_the_larger_cap(live: LiveServer) -> None:
    """Item 2 of issue #10: pipeline configs may be larger than other bodies, up to their own cap."""
    stages = [{"refId": str(i), "type": "wait", "name": "w" * 900, "waitTime": 1} for i in range(150)]
    config = {"application": "shop", "name": "big", "stages": stages}
    with httpx.Client(base_url=live.url) as client:
        created = client.post("/applications", json={"name": "shop", "email": "a@example.com"})
        assert created.status_code == 200, created.text
        saved = client.post("/pipelines", json=config)
        assert saved.status_code == 200, saved.text
        other = client.post("/applications", json={"name": "shop", "email": "a@b", "pad": "x" * LIMIT})
        assert other.status_code == 413
        stages *= 3
        too_big = client.post("/pipelines", json={**config, "stages": stages})
        assert too_big.status_code == 413
        assert client.get("/applications/shop/pipelineConfigs").json()[0]["name"] == "big"


def test_an_oversized_body_is_not_logged_as_a_server_error(
    live: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Item 2 of issue #10: the cap is the caller's problem, not a traceback in the log."""
    with httpx.Client(base_url=live.url) as client:

        def chunks() -> Iterator[bytes]:
            for _ in range(LIMIT // 4096 + 2):
                yield b"a" * 4096

        response = client.post(
            "/applications", content=chunks(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert "unexpected error" not in caplog.text
