"""kayentaCanary with ``deployments`` on the local provider: real processes for production, the
baseline (the image production runs) and the canary (the new bake); the judgement compares the
deployed server groups, and both are destroyed afterwards whatever the outcome. Metrics come from
the in-memory account keyed by the deployed server groups' names (tests/e2e runs the same with a
real Prometheus)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gennaker.canary.deployments import cleanup_stages, delay_seconds, problem
from gennaker.model.status import ExecutionStatus as S
from gennaker.providers.local.state import ACTIVE
from gennaker.testing import make_services
from tests.canary.conftest import MemorySources
from tests.canary.test_stage import save_config
from tests.engine.fakes import EngineTestPlugin
from tests.stages.cloud.conftest import EXAMPLE, CloudHarness, deploy_pipeline

BASELINE, CANARY = "shop-web-baseline-v000", "shop-web-canary-v000"


@pytest.fixture
def cloud(database_url: str, tmp_path: Path, series: Any) -> Iterator[CloudHarness]:
    services = make_services(
        database_url,
        plugins=(EngineTestPlugin(), MemorySources(series)),
        data_dir=str(tmp_path / "data"),
    )
    harness = CloudHarness(services)
    yield harness
    harness.local.stop_all()
    services.close()


def _fill(series: dict[Any, Any], *, bad: bool) -> None:
    rng = np.random.default_rng(5)
    series[("errors", BASELINE)] = [({}, rng.poisson(2, 60).astype(float).tolist())]
    series[("errors", CANARY)] = [({}, rng.poisson(20 if bad else 2, 60).astype(float).tolist())]
    series[("latency", BASELINE)] = [({}, rng.normal(100, 5, 60).tolist())]
    series[("latency", CANARY)] = [({}, rng.normal(100, 5, 60).tolist())]


def _side(detail: str) -> dict[str, Any]:
    return {
        "cloudProvider": "local",
        "account": "local",
        "region": "local",
        "application": "shop",
        "stack": "web",
        "freeFormDetails": detail,
        "capacity": {"min": 1, "max": 1, "desired": 1},
        "command": [sys.executable, "app.py"],
        "env": {"VERSION": detail},
        "healthCheck": {"path": "/health"},
    }


def _canary_pipeline(package: str, config_id: str) -> list[dict[str, Any]]:
    return [
        {"refId": "1", "type": "bake", "name": "Bake", "cloudProvider": "local", "package": package},
        {
            "refId": "2",
            "requisiteStageRefIds": ["1"],
            "type": "kayentaCanary",
            "name": "Canary Analysis",
            "analysisType": "realTimeAutomatic",
            "canaryConfig": {
                "canaryConfigId": config_id,
                "metricsAccountName": "memory",
                "scoreThresholds": {"pass": 75, "marginal": 50},
                "lifetimeDuration": "PT2M",
                "canaryAnalysisIntervalMins": 1,
            },
            "deployments": {
                "baseline": {
                    "cloudProvider": "local",
                    "application": "shop",
                    "account": "local",
                    "cluster": "shop-web",
                },
                "serverGroupPairs": [{"control": _side("baseline"), "experiment": _side("canary")}],
                "delayBeforeCleanup": "PT0S",
            },
        },
    ]


def _production(cloud: CloudHarness, tmp_path: Path) -> tuple[Path, str]:
    """Production shop-web-v000 from the example; returns a changed copy (a new image) and the
    production image id."""
    first = tmp_path / "v1"
    shutil.copytree(EXAMPLE, first)
    pipeline = deploy_pipeline("shop", str(first), command=[sys.executable, "app.py"])
    pipeline["stages"][1]["clusters"][0]["capacity"] = {"min": 1, "max": 1, "desired": 1}
    done = cloud.run_until_complete(cloud.start(pipeline["stages"], application="shop").id, seconds=60)
    assert done.status == S.SUCCEEDED, [s.context.get("exception") for s in done.stages]
    second = tmp_path / "v2"
    shutil.copytree(EXAMPLE, second)
    (second / "CHANGES").write_text("a new version\n")
    production = cloud.local.runtimes["local"].state.group("shop-web-v000")
    assert production is not None
    return second, production.image_id


def _groups(cloud: CloudHarness) -> dict[str, Any]:
    return {g.name: g for g in cloud.local.runtimes["local"].state.groups() if g.status == ACTIVE}


def test_a_good_canary_deploys_baseline_and_canary_passes_and_cleans_up(
    cloud: CloudHarness, tmp_path: Path, series: dict[Any, Any]
) -> None:
    _fill(series, bad=False)
    package, production_image = _production(cloud, tmp_path)
    config_id = save_config(cloud)
    execution = cloud.start(_canary_pipeline(str(package), config_id), application="shop")
    seen: dict[str, Any] = {}

    def done() -> bool:
        # While the analysis runs, both server groups exist with their images.
        groups = _groups(cloud)
        if BASELINE in groups and CANARY in groups:
            seen.update({n: g.image_id for n, g in groups.items()})
        return cloud.get(execution.id).status.is_complete

    cloud.run_until(done, seconds=120)
    result = cloud.get(execution.id)
    assert result.status == S.SUCCEEDED, [(s.name, s.context.get("exception")) for s in result.stages]
    bake = result.stage_by_ref_id("1")
    assert bake is not None
    assert seen[BASELINE] == production_image
    assert seen[CANARY] == bake.outputs["deploymentDetails"][0]["imageId"] != production_image
    names = [s.name for s in result.stages]
    for expected in (
        "Find baseline image",
        "Deploy control server groups",
        "Deploy experiment server groups",
        "Deploy Canary Server Groups",
        "Run Canary Intervals",
        "Cleanup Canary Clusters",
        "Disable control cluster shop-web-baseline",
        "Disable experiment cluster shop-web-canary",
        "Wait before cleanup",
        "Cleanup control cluster shop-web-baseline",
        "Cleanup experiment cluster shop-web-canary",
    ):
        assert expected in names
    deploy = next(s for s in result.stages if s.type == "deployCanaryServerGroups")
    assert deploy.outputs["deployedServerGroups"] == [
        {
            "controlLocation": "local",
            "controlScope": BASELINE,
            "controlAccountId": "local",
            "experimentLocation": "local",
            "experimentScope": CANARY,
            "experimentAccountId": "local",
        }
    ]
    # Each deploy refreshed the cache of what it created (Orca's forceCacheRefresh).
    refreshed = [
        s.context.get("refreshed.server.groups") for s in result.stages if s.type == "createServerGroup"
    ]
    assert sorted(refreshed) == [[f"local:local:{BASELINE}"], [f"local:local:{CANARY}"]]
    run = next(s for s in result.stages if s.name == "Run Canary #1")
    scope = run.context["scopes"]["default"]
    assert (scope["controlScope"]["scope"], scope["experimentScope"]["scope"]) == (BASELINE, CANARY)
    assert scope["experimentScope"]["extendedScopeParams"] == {
        "type": "asg",
        "dataset": "regional",
        "accountId": "local",
    }
    canary = result.stage_by_ref_id("2")
    assert canary is not None and canary.context["canaryScores"] == [100.0, 100.0]
    # Baseline and canary are gone; production was never touched.
    assert set(_groups(cloud)) == {"shop-web-v000"}


def test_a_bad_canary_fails_and_still_destroys_baseline_and_canary(
    cloud: CloudHarness, tmp_path: Path, series: dict[Any, Any]
) -> None:
    _fill(series, bad=True)
    package, _ = _production(cloud, tmp_path)
    config_id = save_config(cloud)
    execution = cloud.start(_canary_pipeline(str(package), config_id), application="shop")
    result = cloud.run_until_complete(execution.id, seconds=120)
    assert result.status == S.TERMINAL
    first = next(s for s in result.stages if s.name == "Run Canary #1")
    assert first.status == S.TERMINAL
    assert "Canary score is not above the marginal score threshold." in str(first.context.get("exception"))
    cleanup = next(s for s in result.stages if s.type == "cleanupCanaryClusters")
    assert cleanup.status == S.SUCCEEDED
    assert set(_groups(cloud)) == {"shop-web-v000"}


def test_bad_deployments_name_the_field() -> None:
    side = _side("canary")
    good = {
        "baseline": {"application": "shop", "account": "local", "cluster": "shop-web"},
        "serverGroupPairs": [{"control": _side("baseline"), "experiment": side}],
    }
    assert problem(good) is None
    assert (
        problem({**good, "baseline": {"account": "local"}}) == "deployments.baseline.application is required"
    )
    assert problem({**good, "serverGroupPairs": []}) == (
        "deployments.serverGroupPairs must be a list of {control, experiment} deploy clusters"
    )
    no_region = {k: v for k, v in side.items() if k != "region"}
    pairs = [{"control": _side("baseline"), "experiment": no_region}]
    assert problem({**good, "serverGroupPairs": pairs}) == (
        "deployments.serverGroupPairs[0].experiment needs region or availabilityZones"
    )
    into_production = [{"control": _side(""), "experiment": side}]
    assert "would deploy into the baseline cluster 'shop-web'" in str(
        problem({**good, "serverGroupPairs": into_production})
    )
    assert "ISO-8601 duration" in str(problem({**good, "delayBeforeCleanup": "an hour"}))
    assert delay_seconds({"delayBeforeCleanup": "PT1H30M5S"}) == 5405


def test_cleanup_goes_on_past_a_failed_step() -> None:
    deployments = {
        "baseline": {"application": "shop", "account": "local", "cluster": "shop-web"},
        "serverGroupPairs": [{"control": _side("baseline"), "experiment": _side("canary")}],
        "delayBeforeCleanup": "PT2M",
    }
    specs = cleanup_stages(deployments)
    assert [s.type for s in specs] == [
        "disableCluster",
        "disableCluster",
        "wait",
        "shrinkCluster",
        "shrinkCluster",
    ]
    assert all(s.context["continuePipeline"] is True for s in specs)
    assert specs[2].context["waitTime"] == 120
    assert specs[3].context["shrinkToSize"] == 0 and specs[3].context["allowDeleteActive"] is True


def test_a_canceled_canary_destroys_baseline_and_canary(
    cloud: CloudHarness, tmp_path: Path, series: dict[Any, Any]
) -> None:
    _fill(series, bad=False)
    package, _ = _production(cloud, tmp_path)
    config_id = save_config(cloud)
    stages = _canary_pipeline(str(package), config_id)
    stages[1]["canaryConfig"]["lifetimeDuration"] = "PT1H"
    stages[1]["canaryConfig"]["canaryAnalysisIntervalMins"] = 30
    execution = cloud.start(stages, application="shop")
    cloud.run_until(lambda: {BASELINE, CANARY} <= set(_groups(cloud)), seconds=90)
    cloud.services.operations.cancel(execution.id, user="dora", reason="wrong version")
    result = cloud.run_until_complete(execution.id, seconds=60)
    assert result.status == S.CANCELED
    canary = result.stage_by_ref_id("2")
    assert canary is not None
    assert sorted(canary.context["cancelResults"]["destroyedServerGroups"]) == [BASELINE, CANARY]
    assert set(_groups(cloud)) == {"shop-web-v000"}
