"""Email notifications against a real SMTP server (aiosmtpd on 127.0.0.1): STARTTLS with a
self-signed certificate made by openssl in the test, AUTH, and the password kept out of
everything recorded."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from gennaker import events
from gennaker.notify import deliveries
from gennaker.services import Services
from gennaker.store import json as jsonlib
from gennaker.testing import make_services, run_until_idle
from gennaker.triggers.scheduler import run_once_sync
from tests.engine.fakes import EngineTestPlugin
from tests.triggers.registry import IN_CI, free_port

PASSWORD = "s3cr3t-smtp-pa55word"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook name
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content))
        )
        return "250 OK"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == b"gennaker" and data.password == PASSWORD.encode()
    return AuthResult(success=ok)


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        reason = "openssl is not installed (make system-deps installs it)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def smtp(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Inbox, int, Path | None]]:
    import ssl

    tls = request.param == "starttls"
    inbox = Inbox()
    port = free_port()
    kwargs: dict[str, Any] = {"authenticator": _authenticate, "auth_required": True}
    cert: Path | None = None
    if tls:
        cert, key = self_signed(tmp_path)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        kwargs.update(tls_context=context, require_starttls=True)
    else:
        kwargs.update(auth_require_tls=False)
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    yield inbox, port, cert
    controller.stop()


def services_for(url: str, port: int, cert: Path | None, **email: Any) -> Services:
    settings = {
        "host": "127.0.0.1",
        "port": port,
        "username": "gennaker",
        "password": PASSWORD,
        "from": "gennaker@example.com",
        "starttls": cert is not None,
        "ca_file": str(cert) if cert else None,
        **email,
    }
    return make_services(url, plugins=(EngineTestPlugin(),), notifications={"email": settings})


def start(services: Services) -> str:
    notification = {
        "type": "email",
        "address": "dev@example.com, ops@example.com",
        "cc": "lead@example.com",
        "level": "pipeline",
        "when": ["pipeline.complete"],
        "message": {"pipeline.complete": {"text": "Version ${trigger.parameters.version} is out."}},
    }
    config = {
        "id": "cfg-mail",
        "application": "shop",
        "name": "release",
        "notifications": [notification],
        "stages": [{"refId": "1", "type": "noop"}],
    }
    execution = services.launcher.start_pipeline(config, {"type": "manual", "parameters": {"version": "4.2"}})
    run_until_idle(services, advance_clock=False)
    return execution.id


PLAIN = pytest.param(
    "plain", marks=pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
)


@pytest.mark.parametrize("smtp", ["starttls", PLAIN], indirect=True)
def test_email_is_sent_with_auth(database_url: str, smtp: tuple[Inbox, int, Path | None]) -> None:
    inbox, port, cert = smtp
    services = services_for(database_url, port, cert)
    try:
        execution_id = start(services)
        run_once_sync(services)
        [(sender, recipients, message)] = inbox.messages
        assert sender == "gennaker@example.com"
        assert sorted(recipients) == ["dev@example.com", "lead@example.com", "ops@example.com"]
        assert message["Subject"] == "[Gennaker] The pipeline release of shop succeeded"
        body = message.get_payload(decode=True)
        assert isinstance(body, bytes)
        assert b"Version 4.2 is out." in body and execution_id.encode() in body
        [sent] = _events(services, events.NOTIFICATION_SENT)
        assert sent.body["notificationType"] == "email"
        with services.db.read() as conn:
            recorded = jsonlib.dumps(
                [
                    services.executions.load(conn, execution_id).to_json(),
                    deliveries.list_for_execution(conn, execution_id),
                ]
            )
        assert PASSWORD not in recorded + jsonlib.dumps([e.body for e in _events(services)])
    finally:
        services.close()


@pytest.mark.parametrize("smtp", ["starttls"], indirect=True)
def test_untrusted_certificate_fails_visibly_and_is_retried(
    sqlite_url: str, smtp: tuple[Inbox, int, Path | None]
) -> None:
    inbox, port, cert = smtp
    untrusted = services_for(sqlite_url, port, cert, ca_file=None)
    try:
        start(untrusted)
        run_once_sync(untrusted)
        [failed] = _events(untrusted, events.NOTIFICATION_FAILED)
        assert "SSL" in failed.body["error"] or "certificate" in failed.body["error"]
        assert failed.body["willRetry"] is True
    finally:
        untrusted.close()
    assert inbox.messages == []


def test_no_smtp_server_configured_is_a_permanent_failure(sqlite_url: str) -> None:
    services = make_services(sqlite_url, plugins=(EngineTestPlugin(),))
    try:
        start(services)
        run_once_sync(services)
        [failed] = _events(services, events.NOTIFICATION_FAILED)
        assert "no SMTP server is configured" in failed.body["error"]
    finally:
        services.close()


def _events(services: Services, *types: str) -> list[events.EventRecord]:
    with services.db.read() as conn:
        return events.list_events(conn, events.EventQuery(types=types, limit=1000))
