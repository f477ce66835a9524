"""The kayentaCanary stage in a pipeline: interval stages as Orca plans them, fail fast at or below
marginal, the last score decides, Orca's context keys, and expressions reading them. Metrics come
from the in-memory account (a stand-in for Prometheus, which test_prometheus.py runs for real)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from gennaker.model.status import ExecutionStatus as S
from gennaker.services import Services
from gennaker.testing import make_services
from tests.canary.conftest import MemorySources, config
from tests.engine.conftest import Harness


@pytest.fixture
def harness(database_url: str, series: Any) -> Iterator[Harness]:
    services: Services = make_services(database_url, plugins=(MemorySources(series),))
    yield Harness(services)
    services.close()


def save_config(harness: Harness, **overrides: Any) -> str:
    from gennaker.canary.service import prepare_config
    from gennaker.canary.store import CanaryConfigRepository

    body = prepare_config(harness.services, config(**overrides))
    with harness.services.db.transaction() as conn:
        CanaryConfigRepository().create(conn, body, harness.clock.now_ms())
    config_id: str = body["id"]
    return config_id


def fill(series: dict[Any, Any], *, bad: bool) -> None:
    rng = np.random.default_rng(11)
    series[("errors", "base")] = [({}, rng.poisson(2, 60).astype(float).tolist())]
    series[("errors", "canary")] = [({}, rng.poisson(15 if bad else 2, 60).astype(float).tolist())]
    series[("latency", "base")] = [({}, rng.normal(100, 5, 60).tolist())]
    series[("latency", "canary")] = [({}, rng.normal(100, 5, 60).tolist())]


def canary_stage(canary_config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "refId": "1",
        "type": "kayentaCanary",
        "name": "Canary Analysis",
        "analysisType": "realTime",
        "canaryConfig": {
            "metricsAccountName": "memory",
            "scopes": [
                {"scopeName": "default", "controlScope": "base", "experimentScope": "canary", "step": 60}
            ],
            "scoreThresholds": {"pass": 75, "marginal": 50},
            **canary_config,
        },
        **extra,
    }


def scores_stage() -> dict[str, Any]:
    return {
        "refId": "2",
        "requisiteStageRefIds": ["1"],
        "type": "evaluateVariables",
        "name": "Read scores",
        "variables": [{"key": "scores", "value": "${#stage('Canary Analysis')['context']['canaryScores']}"}],
    }


def test_a_good_canary_passes_every_interval(harness: Harness, series: dict[Any, Any]) -> None:
    fill(series, bad=False)
    config_id = save_config(harness)
    started = harness.clock.now_ms()
    stage = canary_stage(
        {
            "canaryConfigId": config_id,
            "lifetimeDuration": "PT3M",
            "canaryAnalysisIntervalMins": 1,
            "beginCanaryAnalysisAfterMins": 2,
        }  # fmt: skip
    )
    execution = harness.start([stage, scores_stage()])
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.SUCCEEDED
    names = [(s.type, s.name) for s in done.stages]
    assert names == [
        ("wait", "Warmup Wait"),
        ("wait", "Interval Wait #1"),
        ("runCanary", "Run Canary #1"),
        ("wait", "Interval Wait #2"),
        ("runCanary", "Run Canary #2"),
        ("wait", "Interval Wait #3"),
        ("runCanary", "Run Canary #3"),
        ("runCanaryIntervals", "Run Canary Intervals"),
        ("kayentaCanary", "Canary Analysis"),
        ("evaluateVariables", "Read scores"),
    ]
    canary = done.stage_by_ref_id("1")
    assert canary is not None
    assert canary.context["canaryScores"] == [100.0, 100.0, 100.0]
    assert (
        canary.context["canaryScoreMessage"]
        == "Final canary score 100.0 met or exceeded the pass score threshold."
    )
    intervals = next(s for s in done.stages if s.type == "runCanaryIntervals")
    assert canary.context["intervalStageId"] == intervals.id
    first = next(s for s in done.stages if s.name == "Run Canary #1")
    assert first.context["canaryScore"] == 100.0
    assert first.context["canaryPipelineStatus"] == "SUCCEEDED"
    assert isinstance(first.context["lastUpdated"], int)
    assert first.context["lastUpdatedIso"].endswith("Z")
    assert first.outputs["canaryPipelineExecutionId"] == first.context["canaryPipelineExecutionId"]
    # Window 1 runs from start + warm-up to start + warm-up + 1 interval.
    experiment = first.context["scopes"]["default"]["experimentScope"]
    from gennaker.canary.store import iso

    assert (experiment["start"], experiment["end"]) == (iso(started + 120_000), iso(started + 180_000))
    assert first.context["warnings"] == []  # 60 points per side
    read = done.stage_by_ref_id("2")
    assert read is not None and read.outputs["scores"] == [100.0, 100.0, 100.0]


def test_a_bad_canary_fails_fast(harness: Harness, series: dict[Any, Any]) -> None:
    fill(series, bad=True)
    config_id = save_config(harness)
    stage = canary_stage(
        {"canaryConfigId": config_id, "lifetimeDuration": "PT3M", "canaryAnalysisIntervalMins": 1}
    )
    execution = harness.start([stage])
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.TERMINAL
    runs = {s.name: s for s in done.stages if s.type == "runCanary"}
    assert runs["Run Canary #1"].status == S.TERMINAL
    assert runs["Run Canary #1"].context["canaryScore"] == 40.0
    assert (
        runs["Run Canary #1"].context["canaryScoreMessage"]
        == "Canary score is not above the marginal score threshold."
    )
    assert runs["Run Canary #2"].status == S.NOT_STARTED
    assert runs["Run Canary #3"].status == S.NOT_STARTED


def test_config_resolved_by_name_and_retrospective_windows(harness: Harness, series: dict[Any, Any]) -> None:
    fill(series, bad=False)
    save_config(harness)
    stage = canary_stage(
        {
            "canaryConfigName": "shop-golden",
            "scopes": [
                {
                    "controlScope": "base",
                    "experimentScope": "canary",
                    "step": 60,
                    "startTimeIso": "2026-01-01T00:00:00Z",
                    "endTimeIso": "2026-01-01T02:00:00Z",
                }
            ],
            "canaryAnalysisIntervalMins": 60,
        }  # fmt: skip
    )
    execution = harness.start([stage], application="shop")
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.SUCCEEDED, [s.context.get("exception") for s in done.stages]
    assert [s.name for s in done.stages if s.type == "wait"] == []
    second = next(s for s in done.stages if s.name == "Run Canary #2")
    assert second.context["scopes"]["default"]["experimentScope"]["start"] == "2026-01-01T00:00:00Z"
    assert second.context["scopes"]["default"]["experimentScope"]["end"] == "2026-01-01T02:00:00Z"


def test_marginal_final_score_fails_and_continue_pipeline(harness: Harness, series: dict[Any, Any]) -> None:
    fill(series, bad=True)
    config_id = save_config(harness)
    stage = canary_stage(
        {
            "canaryConfigId": config_id,
            "lifetimeDuration": "PT1M",
            "scoreThresholds": {"pass": 90, "marginal": 30},
        },
        continuePipeline=True,
    )
    execution = harness.start([stage])
    harness.run()
    done = harness.get(execution.id)
    canary = done.stage_by_ref_id("1")
    assert canary is not None
    assert canary.context["canaryScores"] == [40.0]
    assert (
        canary.context["canaryScoreMessage"] == "Final canary score 40.0 is below the pass score threshold."
    )
    assert canary.status == S.FAILED_CONTINUE
    assert done.status == S.SUCCEEDED


@pytest.mark.parametrize(
    ("canary_config", "extra", "message"),
    [
        ({"canaryConfigId": "x"}, {}, "either `endTime` or `lifetimeDuration`"),
        ({"lifetimeDuration": "PT1M"}, {}, "either UUID or name string"),
        (
            {"canaryConfigId": "x", "lifetimeDuration": "PT1M"},
            {"deployments": {}},
            "deployments.baseline must be an object",
        ),
    ],
)
def test_stage_configuration_errors(
    harness: Harness, canary_config: dict[str, Any], extra: dict[str, Any], message: str
) -> None:
    execution = harness.start([canary_stage(canary_config, **extra)])
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.TERMINAL
    canary = done.stage_by_ref_id("1")
    assert canary is not None
    assert message in canary.context["exception"]["details"]["errors"][0]


def test_few_points_give_kayentas_warning(harness: Harness, series: dict[Any, Any]) -> None:
    series[("errors", "base")] = [({}, [1.0, 2.0, 1.0, 3.0, 2.0])]
    series[("errors", "canary")] = [({}, [1.0, 2.0, 2.0, 1.0, 3.0])]
    config_id = save_config(harness)
    execution = harness.start([canary_stage({"canaryConfigId": config_id, "lifetimeDuration": "PT1M"})])
    harness.run()
    run = next(s for s in harness.get(execution.id).stages if s.type == "runCanary")
    assert run.context["warnings"] == [
        "One of the metrics returned fewer than 50 data points, which can reduce confidence in the final canary score."
    ]
