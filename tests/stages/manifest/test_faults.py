"""Bad input ends TERMINAL with Clouddriver's message and applies nothing; a worker that dies
after applying is retried without a second version; a restart mid-rollout completes it."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from gennaker.model.status import ExecutionStatus
from gennaker.providers.operations import OperationLog
from tests.kube_cluster import MANUAL_POD_SPEC, KubeControlPlane
from tests.stages.conftest import Harness
from tests.stages.manifest.conftest import (
    KubeHarness,
    config_map,
    deploy_stage,
    deployment,
    kube_settings,
    replica_set,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("kube")]


def _error(kube: KubeHarness, stage: dict[str, Any], **config: Any) -> str:
    done = kube.run_pipeline([stage], **config)
    assert done.status == ExecutionStatus.TERMINAL
    return str(done.stages[0].context["exception"]["details"]["errors"][0])


def _nothing_in(kube: KubeHarness) -> None:
    configs = [c["metadata"]["name"] for c in kube.cluster.list("configmap", kube.namespace)]
    assert [c for c in configs if c != "kube-root-ca.crt"] == []
    assert kube.cluster.list("deployment", kube.namespace) == []


def _artifact_stage(kube: KubeHarness, text: str) -> dict[str, Any]:
    artifact = {
        "type": "embedded/base64",
        "name": "m.yml",
        "reference": base64.b64encode(text.encode()).decode(),
    }
    return {
        **deploy_stage(kube.namespace, []),
        "source": "artifact",
        "manifestArtifact": artifact,
        "manifests": None,
    }


def test_invalid_yaml_and_non_objects(kube: KubeHarness) -> None:
    assert "Failure parsing manifest from artifact m.yml" in _error(
        kube, _artifact_stage(kube, "kind: [unclosed")
    )
    message = _error(kube, _artifact_stage(kube, "- just\n- a list\n"), id="c2")
    assert "not an object" in message
    assert "manifests[1]: a manifest must be an object" in _error(
        kube, deploy_stage(kube.namespace, [config_map("a", {}), "text"]), id="c3"
    )
    _nothing_in(kube)


def test_unknown_kind_applies_nothing(kube: KubeHarness) -> None:
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    message = _error(
        kube, deploy_stage(kube.namespace, [config_map("cfg", {"a": "1"}), deployment("web"), unknown])
    )
    assert "widget w" in message and 'no matches for kind "Widget"' in message
    assert "nothing was applied" in message
    _nothing_in(kube)


def test_forbidden_namespace(
    make_harness: Callable[..., Harness], kube_cluster: KubeControlPlane, kube_namespace: str
) -> None:
    base = make_harness(providers=kube_settings(kube_cluster, omitNamespaces=[kube_namespace]))
    kube = KubeHarness(base.services)
    kube.cluster, kube.namespace = kube_cluster, kube_namespace
    message = _error(kube, deploy_stage(kube_namespace, [deployment("web")]))
    assert f"account 'k8s' is not allowed to deploy to namespace '{kube_namespace}'" in message
    assert "manifests[0] (deployment web)" in message


def test_unbound_required_artifact(kube: KubeHarness) -> None:
    trigger = {
        "type": "manual",
        "resolvedExpectedArtifacts": [
            {
                "id": "img",
                "boundArtifact": {
                    "type": "docker/image",
                    "name": "registry.local/web",
                    "reference": "registry.local/web:2",
                },
            }
        ],
    }
    stage = deploy_stage(kube.namespace, [deployment("web", image="nginx")], requiredArtifactIds=["img"])
    message = _error(kube, stage, trigger=trigger)
    assert (
        "The following required artifacts could not be bound: '[docker/image]-[registry.local/web]-[]'"
        in message
    )
    _nothing_in(kube)
    missing = deploy_stage(kube.namespace, [deployment("web")], requiredArtifactIds=["nope"])
    assert "requiredArtifactIds[0]: no artifact is bound to expected artifact 'nope'" in _error(
        kube, missing, id="c2"
    )


def test_required_docker_artifact_replaces_the_image(kube: KubeHarness) -> None:
    trigger = {
        "type": "docker",
        "resolvedExpectedArtifacts": [
            {
                "id": "img",
                "boundArtifact": {
                    "type": "docker/image",
                    "name": "registry.local/web",
                    "reference": "registry.local/web:2",
                },
            }
        ],
    }
    stage = deploy_stage(
        kube.namespace, [deployment("web", image="registry.local/web")], requiredArtifactIds=["img"]
    )
    done = kube.run_pipeline([stage], trigger=trigger)
    assert done.status == ExecutionStatus.SUCCEEDED, done.stages[0].context.get("exception")
    live = kube.cluster.get("deployment", "web", kube.namespace)
    assert (
        live is not None
        and live["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.local/web:2"
    )
    assert done.stages[0].outputs["outputs.boundArtifacts"][0]["reference"] == "registry.local/web:2"


class WorkerDied(BaseException):
    """Stands for kill -9 right after the provider applied, before the outcome was recorded."""


def test_a_retried_deploy_reuses_the_version_it_created(
    make_harness: Callable[..., Harness],
    kube_cluster: KubeControlPlane,
    kube_namespace: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = KubeHarness(make_harness(providers=kube_settings(kube_cluster)).services)
    first.cluster, first.namespace = kube_cluster, kube_namespace
    original = OperationLog._finish

    def die(self: OperationLog, *args: Any) -> None:
        raise WorkerDied()

    monkeypatch.setattr(OperationLog, "_finish", die)
    execution = first.start(
        [deploy_stage(kube_namespace, [replica_set("web", version="1")])], application="shop"
    )
    with pytest.raises(WorkerDied):
        first.run(advance_clock=False)
    assert kube_cluster.get("replicaset", "web-v000", kube_namespace) is not None
    monkeypatch.setattr(OperationLog, "_finish", original)

    second = KubeHarness(make_harness(providers=kube_settings(kube_cluster)).services)
    second.cluster, second.namespace = kube_cluster, kube_namespace
    second.clock.advance(ms=120_000)  # the dead worker's lease on the message runs out
    done = second.run_until_complete(execution.id)
    assert done.status == ExecutionStatus.SUCCEEDED, done.stages[0].context.get("exception")
    names = [r["metadata"]["name"] for r in kube_cluster.list("replicaset", kube_namespace)]
    assert names == ["web-v000"]


def test_a_restart_mid_rollout_completes_it(
    make_harness: Callable[..., Harness], kube_cluster: KubeControlPlane, kube_namespace: str
) -> None:
    first = KubeHarness(make_harness(providers=kube_settings(kube_cluster)).services)
    first.cluster, first.namespace = kube_cluster, kube_namespace
    execution = first.start(
        [deploy_stage(kube_namespace, [deployment("slow", pod_spec=MANUAL_POD_SPEC)])], application="shop"
    )
    first.run_until(lambda: bool(first.get(execution.id).stages[0].context.get("messages")))
    first.services.close()

    for pod in kube_cluster.list("pods", kube_namespace, "app=slow"):
        kube_cluster.mark_pod_ready(kube_namespace, pod["metadata"]["name"])
    second = KubeHarness(make_harness(providers=kube_settings(kube_cluster)).services)
    second.cluster, second.namespace = kube_cluster, kube_namespace
    done = second.run_until_complete(execution.id)
    assert done.status == ExecutionStatus.SUCCEEDED


def test_manifest_from_an_artifact_with_expressions(kube: KubeHarness) -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-artifact\ndata:\n  tag: '${trigger.tag}'\n"
    )
    artifact = {
        "type": "embedded/base64",
        "name": "cm.yml",
        "reference": base64.b64encode(text.encode()).decode(),
    }
    trigger = {
        "type": "manual",
        "tag": "7",
        "resolvedExpectedArtifacts": [{"id": "m", "boundArtifact": artifact}],
    }
    stage = {
        **deploy_stage(kube.namespace, []),
        "source": "artifact",
        "manifestArtifactId": "m",
        "manifests": None,
    }
    done = kube.run_pipeline([stage], trigger=trigger)
    assert done.status == ExecutionStatus.SUCCEEDED, done.stages[0].context.get("exception")
    live = kube.cluster.get("configmap", "from-artifact-v000", kube.namespace)
    assert live is not None and live["data"] == {"tag": "7"}
    skipped = {**stage, "skipExpressionEvaluation": True}
    again = kube.run_pipeline([skipped], trigger=trigger, id="c2")
    assert again.status == ExecutionStatus.SUCCEEDED
    raw = kube.cluster.get("configmap", "from-artifact-v001", kube.namespace)
    assert raw is not None and raw["data"] == {"tag": "${trigger.tag}"}


def test_a_kind_the_account_omits(
    make_harness: Callable[..., Harness], kube_cluster: KubeControlPlane, kube_namespace: str
) -> None:
    base = make_harness(providers=kube_settings(kube_cluster, omitKinds=["secret"]))
    kube = KubeHarness(base.services)
    kube.cluster, kube.namespace = kube_cluster, kube_namespace
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"a": "b"}}
    message = _error(kube, deploy_stage(kube_namespace, [config_map("c", {}), secret]))
    assert "manifests[1]: kind Secret is not allowed by account 'k8s'" in message
    _nothing_in(kube)


def test_source_decides_between_text_and_a_stale_artifact_id(kube: KubeHarness) -> None:
    stage = {**deploy_stage(kube.namespace, [config_map("plain", {"a": "1"})]), "manifestArtifactId": "gone"}
    done = kube.run_pipeline([stage])
    assert done.status == ExecutionStatus.SUCCEEDED, done.stages[0].context.get("exception")
    missing = {**deploy_stage(kube.namespace, []), "source": "artifact", "manifests": None}
    assert "source is 'artifact' but neither manifestArtifactId nor manifestArtifact" in _error(
        kube, missing, id="c2"
    )
