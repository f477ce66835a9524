"""``/standalone_canary_analysis``: the stage's logic behind Kayenta's API, run by the engine."""

from __future__ import annotations

from typing import Any

from gennaker.services import Services
from gennaker.testing import run_until_idle
from tests.api.live import SyncClient
from tests.canary.conftest import config
from tests.canary.test_api import create, fill


def analysis_request(**extra: Any) -> dict[str, Any]:
    return {
        "scopes": [
            {"controlScope": "base", "experimentScope": "canary", "startTimeIso": "2026-01-01T00:00:00Z",
             "endTimeIso": "2026-01-01T03:00:00Z", "step": 60}
        ],
        "thresholds": {"pass": 75, "marginal": 50},
        "analysisIntervalMins": 60,
        **extra,
    }  # fmt: skip


def test_retrospective_analysis(canary_api: tuple[Services, SyncClient], series: dict[Any, Any]) -> None:
    services, client = canary_api
    fill(series, bad=False)
    config_id = create(client, config())
    started = client.post(
        f"/standalone_canary_analysis/{config_id}",
        params={"application": "shop", "metricsAccountName": "memory"},
        json=analysis_request(),
    )
    assert started.status_code == 200, started.text
    analysis_id = started.json()["canaryAnalysisExecutionId"]
    assert client.get(f"/standalone_canary_analysis/{analysis_id}").json()["complete"] is False
    run_until_idle(services)
    status = client.get(f"/kayenta/standalone_canary_analysis/{analysis_id}").json()
    assert status["complete"] is True
    assert status["executionStatus"] == "SUCCEEDED"
    result = status["canaryAnalysisExecutionResult"]
    assert result["didPassThresholds"] is True
    assert result["canaryScores"] == [100.0, 100.0, 100.0]
    assert (
        result["canaryScoreMessage"] == "Final canary score 100.0 met or exceeded the pass score threshold."
    )
    runs = result["canaryExecutionResults"]
    assert [r["judgementEndTimeIso"] for r in runs] == [
        "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z"
    ]  # fmt: skip
    assert runs[0]["result"]["judgeResult"]["judgeName"] == "NetflixACAJudge-v1.0"
    assert client.get(f"/canary/{runs[0]['executionId']}").json()["parentPipelineExecutionId"] == analysis_id


def test_bad_analysis_fails_after_the_first_interval(
    canary_api: tuple[Services, SyncClient], series: dict[Any, Any]
) -> None:
    services, client = canary_api
    fill(series, bad=True)
    body = {"canaryConfig": config(applications=None), "executionRequest": analysis_request()}
    started = client.post("/standalone_canary_analysis", params={"metricsAccountName": "memory"}, json=body)
    assert started.status_code == 200, started.text
    run_until_idle(services)
    status = client.get(f"/standalone_canary_analysis/{started.json()['canaryAnalysisExecutionId']}").json()
    assert status["executionStatus"] == "TERMINAL"
    assert status["canaryAnalysisExecutionResult"]["didPassThresholds"] is False
    assert status["canaryAnalysisExecutionResult"]["canaryScores"] == [40.0]
    assert status["canaryConfig"]["applications"] == ["ad-hoc"]


def test_analysis_requests_are_checked(client: SyncClient) -> None:
    config_id = create(client, config())
    response = client.post(
        f"/standalone_canary_analysis/{config_id}",
        json=analysis_request(thresholds={"pass": 10, "marginal": 20}),
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "$.thresholds"
    no_scopes = client.post(
        f"/standalone_canary_analysis/{config_id}", json={"thresholds": {"pass": 1, "marginal": 0}}
    )
    assert no_scopes.json()["errors"][0]["path"] == "$.scopes"
