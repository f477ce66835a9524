"""Gate's expression debugging endpoints: evaluateExpression at execution and stage scope (GET with
a query, POST with text or JSON) and evaluateVariables."""

from __future__ import annotations

from gennaker.services import Services
from gennaker.testing import run_until_idle
from tests.api.live import SyncClient


def _finished_execution(services: Services) -> str:
    config = {
        "application": "shop",
        "name": "exprs",
        "id": "cfg-exprs",
        "stages": [
            {"refId": "1", "type": "scripted", "name": "Build", "outputs": {"image": "api:7"}},
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "type": "scripted",
                "name": "Deploy",
                "region": "eu",
            },
        ],
    }
    execution = services.launcher.start_pipeline(
        config, {"type": "manual", "user": "ann", "parameters": {"env": "prod"}}
    )
    run_until_idle(services)
    return execution.id


def test_evaluate_expression_at_execution_scope(services: Services, client: SyncClient) -> None:
    execution_id = _finished_execution(services)
    response = client.get(
        f"/pipelines/{execution_id}/evaluateExpression",
        params={"expression": "${trigger.user}-${parameters.env}-${#stage('Build')['outputs']['image']}"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"result": "ann-prod-api:7", "detail": None}


def test_evaluate_expression_failure_is_reported_in_detail(services: Services, client: SyncClient) -> None:
    execution_id = _finished_execution(services)
    response = client.post(
        f"/pipelines/{execution_id}/evaluateExpression",
        content="${#stage('Nope')}",
        headers={"content-type": "text/plain"},
    )
    body = response.json()
    assert response.status_code == 200
    assert body["result"] == "${#stage('Nope')}"
    assert body["detail"]["#stage('Nope')"][0]["level"] == "ERROR"


def test_evaluate_expression_at_stage_scope_sees_context_and_ancestor_outputs(
    services: Services, client: SyncClient
) -> None:
    execution_id = _finished_execution(services)
    stage_id = client.get(f"/pipelines/{execution_id}").json()["stages"][1]["id"]
    response = client.post(
        f"/pipelines/{execution_id}/{stage_id}/evaluateExpression",
        json={"expression": "${region}:${image}"},
    )
    assert response.json() == {"result": "eu:api:7", "detail": None}


def test_evaluate_variables_v4_sequential(services: Services, client: SyncClient) -> None:
    execution_id = _finished_execution(services)
    response = client.post(
        f"/pipelines/{execution_id}/evaluateVariables",
        params={"requisiteStageRefIds": "1", "spelVersion": "v4"},
        json=[{"key": "a", "value": "${image}"}, {"key": "b", "value": "${a + '-x'}"}],
    )
    assert response.status_code == 200, response.text
    result = {v["key"]: v["value"] for v in response.json()["result"]}
    assert result == {"a": "api:7", "b": "api:7-x"}


def test_unknown_execution_and_missing_expression(services: Services, client: SyncClient) -> None:
    assert client.get("/pipelines/nope/evaluateExpression", params={"expression": "${1}"}).status_code == 404
    execution_id = _finished_execution(services)
    response = client.get(f"/pipelines/{execution_id}/evaluateExpression")
    assert response.status_code == 400
    assert "expression" in response.json()["message"]
