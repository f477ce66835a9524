"""Prometheus as a metric source, for real: a Prometheus on 127.0.0.1 scraping an exporter the test
runs; canary runs through the API judge a good and a bad server group against the baseline."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gennaker.api import create_app
from gennaker.canary.store import iso
from gennaker.services import Services
from gennaker.testing import make_services
from tests.api.live import SyncClient
from tests.canary.prometheus_server import Prometheus, exporter, free_port, require_prometheus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    require_prometheus()
    with exporter() as target:
        server = Prometheus(tmp_path_factory.mktemp("prometheus"), target)
        try:
            server.wait_for_samples(12)
            yield server
        finally:
            server.stop()


@pytest.fixture
def api(prometheus: Prometheus, tmp_path: Path) -> Iterator[tuple[Services, SyncClient]]:
    accounts = [
        {"name": "prom", "type": "prometheus", "endpoint": prometheus.url},
        {
            "name": "prom-down",
            "type": "prometheus",
            "endpoint": f"http://127.0.0.1:{free_port()}",
            "timeout_seconds": 2,
        },
    ]
    services = make_services(f"sqlite:///{tmp_path / 'g.db'}", canary__accounts=accounts)
    client = SyncClient(create_app(services))
    yield services, client
    client.close()
    services.close()


def canary_config() -> dict[str, Any]:
    return {
        "name": "shop-prometheus",
        "applications": ["shop"],
        "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
        "templates": {"by-group": 'group="${scope}"'},
        "metrics": [
            {
                "name": "latency",
                "query": {
                    "type": "prometheus",
                    "metricName": "request_latency_seconds",
                    "customFilterTemplate": "by-group",
                    "groupByFields": ["pod"],
                },
                "groups": ["latency"],
                "analysisConfigurations": {"canary": {"direction": "increase"}},
            },
            {
                "name": "5xx rate",
                "query": {
                    "type": "prometheus",
                    "customInlineTemplate": 'PromQL:sum(rate(http_requests_total{group="${scope}",code=~"5.."}[5s]))',
                },
                "groups": ["errors"],
                "analysisConfigurations": {"canary": {"direction": "increase", "nanStrategy": "replace"}},
            },
        ],  # fmt: skip
        "classifier": {"groupWeights": {"latency": 50, "errors": 50}},
    }


def run(client: SyncClient, config_id: str, experiment: str, account: str = "prom") -> dict[str, Any]:
    end = int(time.time()) * 1000
    start = end - 10_000
    scope = {"location": "local", "start": iso(start), "end": iso(end), "step": 1}
    body = {
        "scopes": {"default": {"controlScope": {**scope, "scope": "shop-base"},
                               "experimentScope": {**scope, "scope": experiment}}},
        "thresholds": {"pass": 75, "marginal": 50},
    }  # fmt: skip
    started = client.post(f"/canary/{config_id}", params={"metricsAccountName": account}, json=body)
    assert started.status_code == 200, started.text
    status: dict[str, Any] = client.get(f"/canary/{started.json()['canaryExecutionId']}").json()
    return status


def test_good_and_bad_canaries_against_a_real_prometheus(api: tuple[Services, SyncClient]) -> None:
    _, client = api
    config_id = client.post("/canaryConfig", json=canary_config()).json()["canaryConfigId"]
    good = run(client, config_id, "shop-good")["result"]["judgeResult"]
    by_metric = {(r["name"], r["tags"].get("pod")): r for r in good["results"]}
    assert set(by_metric) == {("latency", "a"), ("latency", "b"), ("5xx rate", None)}
    assert by_metric[("latency", "a")]["controlMetadata"]["stats"]["count"] >= 8
    assert {r["classification"] for r in good["results"]} == {"Pass"}
    assert good["score"]["classification"] == "Pass"

    status = run(client, config_id, "shop-bad")
    bad = status["result"]["judgeResult"]
    assert {r["classification"] for r in bad["results"]} == {"High"}
    assert bad["score"] == {"score": 0.0, "classification": "Fail", "classificationReason": ""}
    pairs = client.get(f"/metricSetPairList/{status['metricSetPairListId']}").json()
    latency = next(p for p in pairs if p["name"] == "latency")
    assert (
        latency["attributes"]["control"]["query"]
        == 'avg(request_latency_seconds{group="shop-base"}) by (pod)'
    )
    assert len(latency["values"]["control"]) == 10


def test_a_prometheus_that_is_down_makes_metrics_error(api: tuple[Services, SyncClient]) -> None:
    _, client = api
    config_id = client.post("/canaryConfig", json=canary_config()).json()["canaryConfigId"]
    result = run(client, config_id, "shop-good", account="prom-down")["result"]["judgeResult"]
    assert {r["classification"] for r in result["results"]} == {"Error"}
    assert "Prometheus account 'prom-down'" in result["results"][0]["classificationReason"]


def test_metric_names_for_the_config_editor(api: tuple[Services, SyncClient]) -> None:
    _, client = api
    names = client.get(
        "/metadata/metricsService", params={"metricsAccountName": "prom", "filter": "LATENCY"}
    ).json()
    assert names == [{"name": "request_latency_seconds"}]
    down = client.get("/metadata/metricsService", params={"metricsAccountName": "prom-down"})
    assert down.status_code == 502
