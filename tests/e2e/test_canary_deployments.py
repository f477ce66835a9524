"""Canary deployments end to end on ``gennaker up``: real instances of the example service behind
a real HAProxy, a real Prometheus scraping HAProxy's exporter, and a load generator sending
requests through the load balancer the whole time. A kayentaCanary stage with ``deployments``
deploys a baseline (production's image) and a canary (the new bake) next to production; a good
canary passes, a bad one (answering 5xx to a share of requests, and slower) fails the stage with
Kayenta's reasons. Both end with baseline and canary destroyed and production still serving."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.canary.prometheus_server import Prometheus, require_prometheus
from tests.e2e.test_local_provider import EXAMPLE, GENNAKER, Up, _free_port, _pipeline, require_haproxy, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SCOPE = 'proxy="hello-web",server=~"${scope}-.*"'
CANARY_CONFIG = {
    "name": "hello-haproxy",
    "applications": ["hello"],
    "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
    "metrics": [
        {
            "name": "errors",
            "query": {
                "type": "prometheus",
                "customInlineTemplate": "PromQL:sum(rate(haproxy_server_http_responses_total{"
                + SCOPE
                + ',code="5xx"}[5s]))',
            },
            "groups": ["errors"],
            "analysisConfigurations": {"canary": {"direction": "increase", "critical": True}},
            "scopeName": "default",
        },
        {
            "name": "app errors",
            "query": {
                "type": "prometheus",
                "customInlineTemplate": 'PromQL:sum(rate(hello_requests_total{server_group="${scope}",code="500"}[5s]))',
            },
            "groups": ["app errors"],
            "analysisConfigurations": {"canary": {"direction": "increase"}},
            "scopeName": "default",
        },
        {
            "name": "latency",
            "query": {
                "type": "prometheus",
                "customInlineTemplate": "PromQL:avg(haproxy_server_response_time_average_seconds{"
                + SCOPE
                + "})",
            },
            "groups": ["latency"],
            "analysisConfigurations": {"canary": {"direction": "increase"}},
            "scopeName": "default",
        },
    ],
    "templates": {},
    "classifier": {"groupWeights": {"errors": 40, "app errors": 20, "latency": 40}},
}


class Load:
    """Requests through the load balancer, one after another, until stopped; who answered what."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.answers: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set():
                try:
                    response = client.get(f"http://127.0.0.1:{self.port}/")
                    body = response.json()
                    self.answers[str(body.get("instance") or response.status_code)] += 1
                except (httpx.TransportError, ValueError):
                    self.answers["refused"] += 1

    def stop(self) -> Counter[str]:
        self._stop.set()
        self._thread.join(10)
        return self.answers


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Up, Prometheus, int]]:
    require_haproxy()
    require_prometheus()
    prometheus_port = _free_port()
    (tmp_path / "gennaker.toml").write_text(
        f'[[canary.accounts]]\nname = "prometheus"\ntype = "prometheus"\nendpoint = "http://127.0.0.1:{prometheus_port}"\n'
    )
    up = Up(tmp_path)
    package = tmp_path / "hello"
    shutil.copytree(EXAMPLE, package)
    lb_port = _free_port()
    done = _pipeline(up, str(package), lb_port, "1")
    assert done["status"] == "SUCCEEDED", json.dumps(done)[:3000]
    stats = next(Path(up.env["GENNAKER_DATA_DIR"]).rglob("stats-port")).read_text().strip()
    workdir = tmp_path / "prometheus"
    workdir.mkdir()
    # The instances themselves, found through Gennaker's HTTP service discovery.
    discovery = (
        "  - job_name: hello\n    http_sd_configs:\n"
        f"      - url: '{up.url}/prometheus/targets?application=hello'\n        refresh_interval: 1s\n"
    )
    prometheus = Prometheus(workdir, f"127.0.0.1:{stats}", port=prometheus_port, extra_jobs=discovery)
    try:
        yield up, prometheus, lb_port
    finally:
        prometheus.stop()
        up.stop()
        subprocess.run(
            [GENNAKER, "local", "stop-all", "--yes"], env=up.env, cwd=up.tmp, timeout=120, check=False
        )


def _side(detail: str, env: dict[str, str]) -> dict[str, Any]:
    return {
        "cloudProvider": "local",
        "account": "local",
        "region": "local",
        "application": "hello",
        "stack": "web",
        "freeFormDetails": detail,
        "capacity": {"min": 1, "max": 1, "desired": 1},
        "command": ["python3", "app.py"],
        "env": env,
        "healthCheck": {"path": "/health", "intervalSeconds": 1},
        "loadBalancers": ["hello-web"],
    }


def _canary(up: Up, package: Path, config_id: str, canary_env: dict[str, str], name: str) -> dict[str, Any]:
    pipeline = {
        "application": "hello",
        "name": name,
        "stages": [
            {"refId": "1", "type": "bake", "name": "Bake", "cloudProvider": "local", "package": str(package)},
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "type": "kayentaCanary",
                "name": "Canary Analysis",
                "analysisType": "realTimeAutomatic",
                "canaryConfig": {
                    "canaryConfigId": config_id,
                    "metricsAccountName": "prometheus",
                    "scopes": [{"scopeName": "default", "step": 1}],
                    "scoreThresholds": {"pass": 75, "marginal": 50},
                    "lifetimeDuration": "PT1M",
                },
                "deployments": {
                    "baseline": {
                        "cloudProvider": "local",
                        "application": "hello",
                        "account": "local",
                        "cluster": "hello-web",
                    },
                    "serverGroupPairs": [
                        {
                            "control": _side("baseline", {"VERSION": "1"}),
                            "experiment": _side("canary", canary_env),
                        }
                    ],
                },
            },
        ],
    }
    saved = httpx.post(f"{up.url}/pipelines", json=pipeline, timeout=30)
    assert saved.status_code == 200, saved.text
    ref = up.post(f"/pipelines/hello/{name}", {"type": "manual"})["ref"]
    return up.wait(ref, timeout=300)


def _server_groups(up: Up) -> set[str]:
    return {g["name"] for g in up.get("/applications/hello/serverGroups")}


def test_a_good_canary_passes_and_a_bad_one_fails_with_kayentas_reasons(
    stack: tuple[Up, Prometheus, int], tmp_path: Path
) -> None:
    up, _, lb_port = stack
    created = httpx.post(f"{up.url}/canaryConfig", json=CANARY_CONFIG, timeout=30)
    assert created.status_code == 200, created.text
    config_id = created.json()["canaryConfigId"]
    new_version = tmp_path / "hello-2"
    shutil.copytree(EXAMPLE, new_version)
    (new_version / "RELEASE").write_text("2\n")
    load = Load(lb_port)
    try:
        good = _canary(up, new_version, config_id, {"VERSION": "2"}, "canary-good")
        assert good["status"] == "SUCCEEDED", json.dumps(good)[:4000]
        canary = next(s for s in good["stages"] if s["refId"] == "2")
        assert canary["context"]["canaryScores"][-1] >= 75
        until(lambda: _server_groups(up) == {"hello-web-v000"}, message="baseline and canary destroyed")

        bad_env = {"VERSION": "3", "FAIL_PERCENT": "40", "DELAY_MS": "150"}
        bad = _canary(up, new_version, config_id, bad_env, "canary-bad")
        assert bad["status"] == "TERMINAL"
        run = next(s for s in bad["stages"] if s["name"] == "Run Canary #1")
        judged = up.get(f"/canary/{run['context']['canaryPipelineExecutionId']}")
        reasons = {
            r["name"]: r.get("classificationReason") for r in judged["result"]["judgeResult"]["results"]
        }
        assert reasons["errors"] == "The metric errors was classified as High (Critical)"
        assert reasons["app errors"] == "app errors was classified as High"
        assert judged["result"]["judgeResult"]["score"]["score"] <= 50
        until(lambda: _server_groups(up) == {"hello-web-v000"}, message="baseline and canary destroyed")
    finally:
        answers = load.stop()
    # Production answered the whole time; the only failures were the bad canary's own 500s.
    assert answers["hello-web-v000-0"] > 0 and answers["hello-web-v000-1"] > 0
    assert answers["refused"] == 0
