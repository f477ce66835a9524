"""Kayenta's REST API at Kayenta's and Gate's paths: config CRUD and validation, runs, results with
their inputs, judging stored pairs again, accounts. Shapes are compared field by field with
Kayenta's (reference §3)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.api.live import SyncClient
from tests.canary.conftest import config, request

KAYENTA_STATUS_FIELDS = [
    "application", "parentPipelineExecutionId", "pipelineId", "stageStatus", "complete", "status", "result",
    "config", "canaryConfigId", "canaryExecutionRequest", "metricSetPairListId", "buildTimeMillis", "buildTimeIso",
    "startTimeMillis", "startTimeIso", "endTimeMillis", "endTimeIso", "storageAccountName", "metricsAccountName",
    "configurationAccountName",
]  # fmt: skip


def fill(series: dict[Any, Any], *, bad: bool) -> None:
    rng = np.random.default_rng(5)
    base_errors = rng.poisson(2, 60).astype(float).tolist()
    canary_errors = (rng.poisson(12 if bad else 2, 60)).astype(float).tolist()
    series[("errors", "base")] = [({}, base_errors)]
    series[("errors", "canary")] = [({}, canary_errors)]
    series[("latency", "base")] = [({}, rng.normal(100, 5, 60).tolist())]
    series[("latency", "canary")] = [({}, rng.normal(100, 5, 60).tolist())]


def create(client: SyncClient, body: dict[str, Any], prefix: str = "") -> str:
    response = client.post(f"{prefix}/canaryConfig", json=body)
    assert response.status_code == 200, response.text
    config_id: str = response.json()["canaryConfigId"]
    return config_id


@pytest.mark.parametrize("prefix", ["", "/kayenta", "/v2"])
def test_config_crud_at_every_mount(client: SyncClient, prefix: str) -> None:
    config_id = create(client, config(), prefix)
    stored = client.get(f"{prefix}/canaryConfig/{config_id}").json()
    assert stored["id"] == config_id
    assert stored["createdTimestampIso"].endswith("Z")
    listed = client.get(f"{prefix}/canaryConfig", params={"application": "shop"}).json()
    assert [list(item) for item in listed] == [
        ["id", "name", "updatedTimestamp", "updatedTimestampIso", "applications"]
    ]
    assert client.get(f"{prefix}/canaryConfig", params={"application": "other"}).json() == []
    changed = client.put(f"{prefix}/canaryConfig/{config_id}", json={**stored, "description": "changed"})
    assert changed.json() == {"canaryConfigId": config_id}
    assert client.get(f"{prefix}/canaryConfig/{config_id}").json()["description"] == "changed"
    assert client.delete(f"{prefix}/canaryConfig/{config_id}").status_code == 204
    assert client.get(f"{prefix}/canaryConfig/{config_id}").status_code == 404


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [
        ({"colour": "red"}, "$.colour", "not a known field"),
        ({"name": "bad name"}, "$.name", "Names must contain only letters"),
        ({"applications": []}, "$.applications", "at least one application"),
        (
            {"classifier": {"groupWeights": {"errors": 100}}},
            "$.classifier.groupWeights",
            "no weight for group 'latency'",
        ),
        (
            {
                "classifier": {
                    "groupWeights": {"errors": 60, "latency": 40},
                    "scoreThresholds": {"pass": 40, "marginal": 60},
                }
            },
            "$.classifier.scoreThresholds",
            "thresholds out of order",
        ),
    ],
)
def test_invalid_configs_are_400_at_their_json_path(
    client: SyncClient, change: dict[str, Any], path: str, fragment: str
) -> None:
    response = client.post("/canaryConfig", json=config(**change))
    assert response.status_code == 400
    problems = response.json()["errors"]
    assert any(p["path"] == path and fragment in p["message"] for p in problems), problems
    assert client.get("/canaryConfig").json() == []


def test_unknown_nested_fields_and_duplicate_metric_names(client: SyncClient) -> None:
    body = config()
    body["metrics"][0]["analysisConfigurations"]["canary"]["critcal"] = True
    body["metrics"][1]["query"]["labelBinding"] = ["x"]
    body["metrics"].append({**body["metrics"][0], "analysisConfigurations": {}})
    problems = client.post("/canaryConfig", json=body).json()["errors"]
    paths = {p["path"] for p in problems}
    assert "$.metrics[0].analysisConfigurations.canary.critcal" in paths
    assert "$.metrics[1].query.labelBinding" in paths
    assert any(p["path"] == "$.metrics[2].name" and "is duplicated" in p["message"] for p in problems)


def test_same_name_in_the_same_application_is_refused(client: SyncClient) -> None:
    create(client, config())
    response = client.post("/canaryConfig", json=config())
    assert response.status_code == 400
    assert "already exists in the scope of applications ['shop']" in response.json()["message"]


def test_run_result_has_kayentas_shape_and_keeps_its_inputs(
    client: SyncClient, series: dict[Any, Any]
) -> None:
    fill(series, bad=True)
    config_id = create(client, config())
    started = client.post(f"/canary/{config_id}", params={"application": "shop"}, json=request())
    assert started.status_code == 200, started.text
    assert list(started.json()) == ["canaryExecutionId"]
    status = client.get(f"/canary/{started.json()['canaryExecutionId']}").json()
    assert list(status) == KAYENTA_STATUS_FIELDS
    assert status["complete"] is True and status["status"] == "succeeded"
    judge_result = status["result"]["judgeResult"]
    assert status["result"]["canaryDuration"] == "PT1H"
    assert judge_result["judgeName"] == "NetflixACAJudge-v1.0"
    by_name = {r["name"]: r for r in judge_result["results"]}
    assert by_name["errors"]["classification"] == "High"
    assert by_name["latency"]["classification"] == "Pass"
    assert judge_result["score"] == {"score": 40.0, "classification": "Fail", "classificationReason": ""}
    assert status["config"]["id"] == config_id
    assert status["canaryExecutionRequest"] == request()
    pairs = client.get(f"/v2/canaries/metricSetPairList/{status['metricSetPairListId']}").json()
    assert [p["name"] for p in pairs] == ["errors", "latency"]
    assert list(pairs[0]) == ["name", "id", "tags", "values", "scopes", "attributes"]
    assert len(pairs[0]["values"]["control"]) == 60
    assert pairs[0]["scopes"]["control"] == {
        "startTimeIso": "2026-01-01T00:00:00Z", "startTimeMillis": 1767225600000, "stepMillis": 60000
    }  # fmt: skip
    # Judged again from the stored pairs, with other thresholds.
    again = client.post(
        "/judges/judge",
        params={
            "canaryConfigId": config_id,
            "metricSetPairListId": status["metricSetPairListId"],
            "passThreshold": 30,
            "marginalThreshold": 20,
        },
    ).json()
    assert again["score"]["classification"] == "Pass"
    assert again["results"] == judge_result["results"]
    gate = client.get(f"/v2/canaries/canary/{config_id}/{status['pipelineId']}").json()
    assert gate == status
    listed = client.get("/v2/canaries/shop/executions", params={"limit": 5}).json()
    assert [e["pipelineId"] for e in listed] == [status["pipelineId"]]


def test_inline_config_run(client: SyncClient, series: dict[Any, Any]) -> None:
    fill(series, bad=False)
    body = {"canaryConfig": config(applications=None), "executionRequest": request()}
    started = client.post("/v2/canaries/canary", json=body)
    assert started.status_code == 200, started.text
    status = client.get(f"/canary/{started.json()['canaryExecutionId']}").json()
    assert status["config"]["applications"] == ["ad-hoc"]
    assert status["result"]["judgeResult"]["score"]["classification"] == "Pass"


def test_a_metrics_account_that_is_down_makes_its_metric_error_and_the_run_completes(
    client: SyncClient, series: dict[Any, Any]
) -> None:
    fill(series, bad=False)
    body = config()
    body["metrics"][0]["query"] = {"type": "memory", "metricName": "errors"}
    config_id = create(client, body)
    started = client.post(f"/canary/{config_id}", params={"metricsAccountName": "down"}, json=request())
    status = client.get(f"/canary/{started.json()['canaryExecutionId']}").json()
    results = status["result"]["judgeResult"]["results"]
    assert {r["classification"] for r in results} == {"Error"}
    assert "connection refused by 127.0.0.1:9" in results[0]["classificationReason"]
    # Error counts in no group: every group is noData (scored as 100), the NODATA rule does not apply.
    assert status["result"]["judgeResult"]["score"]["score"] == 100.0


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"thresholds": None}, "$.thresholds"),
        ({"thresholds": {"pass": 40, "marginal": 60}}, "$.thresholds"),
        ({"scopes": {}}, "$.scopes"),
    ],
)
def test_bad_execution_requests(client: SyncClient, change: dict[str, Any], path: str) -> None:
    config_id = create(client, config())
    response = client.post(f"/canary/{config_id}", json={**request(), **change})
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == path


def test_template_with_an_unknown_binding_is_400(client: SyncClient, series: dict[Any, Any]) -> None:
    body = config(templates={"by-ns": 'namespace="${namespace}"'})
    body["metrics"][0]["query"] = {"type": "memory", "metricName": "errors", "customFilterTemplate": "by-ns"}
    config_id = create(client, body)
    response = client.post(f"/canary/{config_id}", json=request())
    assert response.status_code == 400
    problem = response.json()["errors"][0]
    assert problem["path"] == "$.templates.by-ns"
    assert "${namespace}" in problem["message"]


def test_accounts_judges_and_metadata(client: SyncClient, series: dict[Any, Any]) -> None:
    fill(series, bad=False)
    assert client.get("/judges").json() == [{"name": "NetflixACAJudge-v1.0", "visible": True}]
    accounts = client.get("/v2/canaries/credentials").json()
    assert [a["name"] for a in accounts] == ["memory", "down", "gennaker"]
    assert accounts[0] == {
        "name": "memory", "supportedTypes": ["METRICS_STORE"], "type": "memory", "locations": [], "recommendedLocations": []
    }  # fmt: skip
    assert client.get("/kayenta/credentials").json() == accounts
    names = client.get(
        "/v2/canaries/metadata/metricsService", params={"metricsAccountName": "memory", "filter": "lat"}
    )
    assert names.json() == [{"name": "latency"}]
    assert client.get("/metricsServices").json()[0] == {
        "name": "memory", "type": "memory", "locations": [], "recommendedLocations": []
    }  # fmt: skip


def test_stored_pair_lists_with_missing_points(client: SyncClient) -> None:
    config_id = create(client, config())
    pairs = [
        {
            "name": "errors",
            "tags": {},
            "values": {"control": [1, 2, None, 1, 2], "experiment": [9, 8, None, 9, 8]},
        },
        {"name": "latency", "tags": {}, "values": {"control": [1, 2], "experiment": [1, 2]}},
    ]
    stored = client.post("/metricSetPairList", json=pairs)
    assert stored.status_code == 200, stored.text
    list_id = stored.json()["metricSetPairListId"]
    one = client.get(f"/metricSetPairList/{list_id}").json()
    assert one[0]["values"]["control"][2] is None
    assert client.get(f"/metricSetPairList/{list_id}/{one[0]['id']}").json() == one[0]
    judged = client.post(
        "/judges/judge",
        params={
            "canaryConfigId": config_id,
            "metricSetPairListId": list_id,
            "passThreshold": 75,
            "marginalThreshold": 50,
        },
    ).json()
    assert judged["results"][0]["controlMetadata"]["stats"]["count"] == 4
    bad = client.post(
        "/metricSetPairList", json=[{"name": "x", "values": {"control": ["a"], "experiment": []}}]
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["path"] == "$[0].values.control"


def test_query_types(client: SyncClient, series: dict[Any, Any]) -> None:
    body = config()
    body["metrics"][0]["query"] = {"type": "prometheus", "metricName": "up", "labelBindings": ['job="shop"']}
    config_id = create(client, body)
    # No Prometheus account here: the run says so instead of guessing one.
    response = client.post(f"/canary/{config_id}", json=request())
    assert response.status_code == 400
    assert "No metrics account serves query type 'prometheus'" in response.json()["message"]
    body["metrics"][0]["query"] = {"type": "datadog", "metricName": "up"}
    refused = client.post("/canaryConfig", json={**body, "name": "other"})
    assert refused.json()["errors"][0]["path"] == "$.metrics[0].query.type"


def test_inline_template_with_an_unknown_binding_names_its_metric(client: SyncClient) -> None:
    body = config()
    body["metrics"][1]["query"] = {
        "type": "memory",
        "metricName": "latency",
        "customInlineTemplate": 'x="${team}"',
    }
    config_id = create(client, body)
    response = client.post(f"/canary/{config_id}", json=request())
    assert response.json()["errors"][0]["path"] == "$.metrics[1].query.customInlineTemplate"
