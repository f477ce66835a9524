"""deployManifest against the real control plane: a Deployment behind a Service with a versioned
ConfigMap (v000, then v001 on change, reused when unchanged), stability once pods are Ready."""

from __future__ import annotations

import pytest

from gennaker.model.status import ExecutionStatus
from tests.kube_cluster import MANUAL_POD_SPEC
from tests.stages.manifest.conftest import KubeHarness, config_map, deploy_stage, deployment, service

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("kube")]


def _env_config(kube: KubeHarness, name: str) -> str:
    live = kube.cluster.get("deployment", name, kube.namespace)
    assert live is not None
    return live["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"]


def test_deployment_service_and_versioned_config_map(kube: KubeHarness) -> None:
    ns = kube.namespace
    manifests = [
        deployment("web", config="web-config"),
        service("web", {"app": "web"}),
        config_map("web-config", {"A": "1"}),
    ]
    done = kube.run_pipeline([deploy_stage(ns, manifests)])
    assert done.status == ExecutionStatus.SUCCEEDED, done.stages[0].context.get("exception")
    stage = done.stages[0]
    assert stage.outputs["outputs.manifestNamesByNamespace"] == {
        ns: ["configMap web-config-v000", "service web", "deployment web"]
    }
    assert _env_config(kube, "web") == "web-config-v000"
    created = {a["type"]: a for a in stage.outputs["outputs.createdArtifacts"]}
    assert created["kubernetes/configMap"]["reference"] == "web-config-v000"
    assert created["kubernetes/configMap"]["version"] == "v000"
    assert stage.outputs["artifacts"] == stage.outputs["outputs.createdArtifacts"]
    assert any(a["reference"] == "web-config-v000" for a in stage.outputs["outputs.boundArtifacts"])
    live = kube.cluster.get("deployment", "web", ns)
    assert live is not None and live["status"]["availableReplicas"] == 2
    notes = live["metadata"]["annotations"]
    assert notes["moniker.spinnaker.io/application"] == "shop"
    assert notes["moniker.spinnaker.io/cluster"] == "deployment web"
    assert notes["artifact.spinnaker.io/type"] == "kubernetes/deployment"

    changed = [
        deployment("web", config="web-config"),
        service("web", {"app": "web"}),
        config_map("web-config", {"A": "2"}),
    ]
    again = kube.run_pipeline([deploy_stage(ns, changed)], id="cfg-2")
    assert again.status == ExecutionStatus.SUCCEEDED
    assert _env_config(kube, "web") == "web-config-v001"
    assert kube.cluster.get("configmap", "web-config-v000", ns) is not None

    same = kube.run_pipeline([deploy_stage(ns, changed)], id="cfg-3")
    assert same.status == ExecutionStatus.SUCCEEDED
    names = sorted(
        c["metadata"]["name"]
        for c in kube.cluster.list("configmap", ns)
        if c["metadata"]["name"].startswith("web-config")
    )
    assert names == ["web-config-v000", "web-config-v001"]


def test_stable_only_once_the_pods_are_ready(kube: KubeHarness) -> None:
    ns = kube.namespace
    execution = kube.start(
        [deploy_stage(ns, [deployment("slow", pod_spec=MANUAL_POD_SPEC)])], application="shop"
    )
    kube.run_until(
        lambda: any(
            "Waiting for all replicas" in m
            for m in kube.get(execution.id).stages[0].context.get("messages") or []
        )
    )
    assert len(kube.cluster.list("pods", ns, "app=slow")) == 2
    assert kube.get(execution.id).status == ExecutionStatus.RUNNING
    for pod in kube.cluster.list("pods", ns, "app=slow"):
        kube.cluster.mark_pod_ready(ns, pod["metadata"]["name"])
    done = kube.run_until_complete(execution.id)
    assert done.status == ExecutionStatus.SUCCEEDED
    assert done.stages[0].context["stableManifests"] == [{"manifestName": "deployment slow", "location": ns}]


def test_outputs_feed_the_manifest_expression_helpers(kube: KubeHarness) -> None:
    read = {
        "refId": "2",
        "requisiteStageRefIds": ["1"],
        "type": "evaluateVariables",
        "variables": [{"key": "label", "value": "${#manifestLabelValue('Deploy 1', 'Deployment', 'app')}"}],
    }
    done = kube.run_pipeline([deploy_stage(kube.namespace, [deployment("labelled")]), read])
    assert done.status == ExecutionStatus.SUCCEEDED, [s.context.get("exception") for s in done.stages]
    assert done.stages[1].outputs["label"] == "labelled"
