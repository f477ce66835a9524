"""``/health`` and ``/metrics``."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from gennaker.authn.passwords import hash_password
from gennaker.db import DatabaseUnavailable
from gennaker.services import Services
from gennaker.testing import run_until_idle
from tests.api.conftest import create_application, save_pipeline
from tests.api.live import SyncClient


def test_health_reports_the_database_and_queue(client: SyncClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "UP", "database": "ok", "queue": {"ready": 0, "inFlight": 0}}


def test_health_is_503_when_the_database_is_down(
    client: SyncClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down() -> None:
        raise DatabaseUnavailable("connection refused")

    monkeypatch.setattr(services.db, "ping", down)
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "DOWN"


def test_metrics_count_executions_and_stage_durations(client: SyncClient, services: Services) -> None:
    create_application(client)
    save_pipeline(client, stages=[{"refId": "1", "type": "scripted", "polls": 2}])
    client.post("/pipelines/shop/deploy", json={})
    save_pipeline(client, name="failing", stages=[{"refId": "1", "type": "scripted", "result": "TERMINAL"}])
    client.post("/pipelines/shop/failing", json={})
    run_until_idle(services)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert 'gennaker_executions_started_total{type="PIPELINE"} 2' in text
    assert 'gennaker_executions_finished_total{type="PIPELINE",status="SUCCEEDED"} 1' in text
    assert 'gennaker_executions_finished_total{type="PIPELINE",status="TERMINAL"} 1' in text
    assert 'gennaker_stage_duration_seconds_count{stage_type="scripted"} 2' in text
    assert 'gennaker_stage_duration_seconds_bucket{stage_type="scripted",le="+Inf"} 2' in text
    assert "gennaker_queue_ready 0" in text and "gennaker_queue_lag_seconds" in text
    # Scraping again does not count the same events twice.
    assert 'gennaker_executions_started_total{type="PIPELINE"} 2' in client.get("/metrics").text


def test_health_without_credentials_does_not_say_why_the_database_is_down(
    make_api: Callable[..., tuple[Services, SyncClient]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Item 18 of issue #10: an anonymous /health showed the database host, port and driver error."""
    users = [{"name": "bob", "password_hash": hash_password("s3cret", iterations=1000)}]
    services, client = make_api(auth__enabled=True, auth__users=users)

    def down() -> None:
        raise DatabaseUnavailable('connection to server at "db.internal" (10.1.2.3), port 5432 failed')

    monkeypatch.setattr(services.db, "ping", down)
    anonymous = client.get("/health")
    assert anonymous.status_code == 503
    assert anonymous.json() == {"status": "DOWN", "database": "unreachable"}
    assert "db.internal" in caplog.text
    wrong = client.get("/health", headers={"Authorization": "Basic " + base64.b64encode(b"bob:no").decode()})
    assert wrong.json() == {"status": "DOWN", "database": "unreachable"}
    signed_in = client.get(
        "/health", headers={"Authorization": "Basic " + base64.b64encode(b"bob:s3cret").decode()}
    )
    assert signed_in.status_code == 503 and "db.internal" in signed_in.json()["error"]
