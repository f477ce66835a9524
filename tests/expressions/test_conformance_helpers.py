"""Conformance: every helper function (``#name(...)``) against the shared execution, following the
Spinnaker reference and Orca's function providers (the execution argument is never passed)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.expressions.cases import same
from tests.expressions.conftest import ev

PIPELINES = {("myapp", "Other"): "pid-other", ("otherapp", "Other"): "pid-x"}


def lookup(application: str, name: str) -> str | None:
    return PIPELINES.get((application, name))


HELPERS: list[tuple[str, Any]] = [
    ("${#stage('Bake').status}", "SUCCEEDED"),
    ('${#stage("Bake")["status"].toString() == "SUCCEEDED"}', True),
    ("${#stage('Bake').hasSucceeded}", True),
    ("${#stage('Bake').hasFailed}", False),
    ("${#stage('Bake')['hasSucceeded']}", True),
    ("${#stage('Deploy in us-west-2').hasFailed}", True),
    ("${#stage('Wait').hasSucceeded}", False),
    ("${#stage('Bake')['context']['package']}", "app"),
    ("${#stage('Bake').context.package}", "app"),
    ("${#stage('s1').name}", "Bake"),
    ("${#stage('Bake')['outputs']['artifacts'][0]['reference']}", "ami-123"),
    ('${#stage("Deploy manifest")["type"]}', "deployManifest"),
    ("succeeded: ${#stage('Bake')['status'] == 'SUCCEEDED'}", "succeeded: true"),
    ("${#stageByRefId('2').name}", "Approve"),
    ("${#stageByRefId('3<1').context.account}", "prod"),
    ("${#stageExists('Bake')}", True),
    ("${#stageExists('Nope')}", False),
    ("${#stageExists('s6')}", True),
    ("${#currentStage().name}", "Wait"),
    ("${#currentStage()['context']['waitTime']}", 30),
    ("${#currentStage().status}", "RUNNING"),
    ("${#currentUser()}", "alice@example.com"),
    ("${#judgment('Approve')}", "ship it"),
    ('${#judgement("Approve")}', "ship it"),
    ("${#judgment(\"Approve\") == 'ship it'}", True),
    ("${#deployedServerGroups()[0].serverGroup}", "app-prod-v003"),
    ("${deployedServerGroups[0].region}", "us-east-1"),
    ("${deployedServerGroups.size()}", 1),
    ("${#deployedServerGroups('Deploy in us-east-1').size()}", 1),
    ("${#deployedServerGroups('s4')[0].account}", "prod"),
    ("${#deployedServerGroups('Deploy in us-west-2').size()}", 0),
    ("${#deployedServerGroups()[0].ami}", "ami-123"),
    ("${#deployedServerGroups()[0].capacity.desired}", 2),
    ("${#deployedServerGroups()[0].deployments[0].serverGroupName}", "app-prod-v003"),
    ("${#deployedServerGroups()[0].parentStage == null}", True),
    ("${#triggerResolvedArtifact('gcr.io/project/app')['reference']}", "gcr.io/project/app:1.2.3"),
    ('${#triggerResolvedArtifactByType("docker/image")["version"]}', "1.2.3"),
    ("${#triggerResolvedArtifactByType('s3/object').name}", "s3://bucket/app.zip"),
    ("${#resolvedArtifacts().size()}", 2),
    ("${#resolvedArtifacts().![name]}", ["app-ami", "app-prod-v003"]),
    ("${#manifestLabelValue('Deploy manifest', 'Deployment', 'app')}", "web"),
    ("${#manifestLabelValue('Deploy manifest', 'Deployment', 'tier')}", "frontend"),
    ("${#readJson(json)['production']}", "prod"),
    ('${#readJson(\'{"prod": "two"}\')[#root.account]}', "two"),
    ("${#readJson('{ \"newValue\":\"two\" }')['newValue']}", "two"),
    ("${#readJson('[1, 2, 3]').size()}", 3),
    ('${#readJson(\'[ "one", "two" ]\')}', ["one", "two"]),
    ('${#readJson(\'{"a": {"b": [1, 2]}}\').a.b[1]}', 2),
    ("${#readJson('{\"a\":1}').toString()}", "{a=1}"),
    ('${#readJson(\'{"a": 1.5, "b": null, "c": true}\')}', {"a": 1.5, "b": None, "c": True}),
    (
        '${#readJson(\'{"development": "dev", "staging": "stage", "production":"prod"}\').toString()}',
        "{development=dev, staging=stage, production=prod}",
    ),
    ("${#readYaml(yaml).b}", ["x", "y"]),
    ("${#readYaml(yaml).when}", "2020-01-01"),
    ("${#readYaml('x: 1').x + 1}", 2),
    ("${#readYaml('- a\n- b')}", ["a", "b"]),
    ("${#readAllYaml('a: 1\n---\nb: 2')[1].b}", 2),
    ("${#readAllYaml('a: 1\n---\nb: 2').size()}", 2),
    ("${#readProperties('a=1\nb = two\n# comment\nc: 3')}", {"a": "1", "b": "two", "c": "3"}),
    ("${#toJson(tags)}", '{"team":"core","cost-center":"42"}'),
    ("${#toJson(list)}", "[1,2,3,4,5]"),
    ("${#toJson({a: true, b: null})}", '{"a":true,"b":null}'),
    ("${#toJson('x')}", '"x"'),
    ("${#toJson(ratio)}", "0.5"),
    ("${#toJson(parameters.regions.split(',')).contains('us-west-2')}", True),
    ("${#toJson(parameters.regions.split(',')).contains('us-west-1')}", False),
    ("${#toJson(#doNotEval({a: '${x}'}))}", '{"a":"${x}"}'),
    ("${#toJson(#readJson('{\"k\": [1, 2]}'))}", '{"k":[1,2]}'),
    ("${#toInt('42')}", 42),
    ("${#toInt( trigger.parameters.count ) * 2}", 6),
    ("${#toInt(7)}", 7),
    ("${#toInt('0')}", 0),
    ("${#toFloat('7.5')}", 7.5),
    ("${#toFloat('7')}", 7.0),
    ("${#toBoolean('TRUE')}", True),
    ("${#toBoolean('false')}", False),
    ("${#toBoolean('yes')}", False),
    ("${#toBoolean(null)}", False),
    ('${#toBoolean(parameters["runCanary"]) == true}', True),
    ('${#toBase64("Yo Dawg")}', "WW8gRGF3Zw=="),
    ('${#fromBase64("WW8gRGF3Zw==")}', "Yo Dawg"),
    ("${#fromBase64('WW8gRGF3Zw')}", "Yo Dawg"),
    ("${#fromBase64(#toBase64('\u00e9t\u00e9'))}", "\u00e9t\u00e9"),
    ("${ #alphanumerical(replaceTest) }", "stackwithhyphens"),
    ("${#alphanumerical('a_b-c.d 1')}", "abcd1"),
    ("${#alphanumerical(scmInfo.branch)}", "featurenewrelease"),
    ("${#pipelineId('Other')}", "pid-other"),
    ("${#pipelineIdOrNull('Missing') == null}", True),
    ("${#pipelineIdOrNull('Other')}", "pid-other"),
    ("${#pipelineIdInApplication('Other', 'otherapp')}", "pid-x"),
    ("${#doNotEval('x')}", "x"),
    ("${#doNotEval('${y}')}", "${y}"),
    ("${#doNotEval(tags)}", {"team": "core", "cost-center": "42"}),
]


@pytest.mark.parametrize(("text", "expected"), HELPERS, ids=[t for t, _ in HELPERS])
def test_helpers(text: str, expected: Any) -> None:
    actual = ev(text, pipeline_id_lookup=lookup)
    assert same(actual, expected), f"{text!r} -> {actual!r}, expected {expected!r}"
