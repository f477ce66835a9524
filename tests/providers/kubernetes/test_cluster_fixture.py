"""The shared control-plane fixture itself: a real API server whose pods become Ready."""

from __future__ import annotations

import pytest

from tests.kube_cluster import MANUAL_POD_SPEC, KubeControlPlane

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("kube")]


def _deployment(name: str, extra_spec: dict[str, object] | None = None) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}], **(extra_spec or {})},
            },
        },
    }


def test_pods_on_the_simulated_node_become_ready(kube_cluster: KubeControlPlane, kube_namespace: str) -> None:
    kube_cluster.apply(_deployment("web"), kube_namespace)
    dep = kube_cluster.wait_for(
        "web to have 2 available replicas",
        lambda: (
            (d := kube_cluster.get("deployment", "web", kube_namespace))
            and d.get("status", {}).get("availableReplicas") == 2
            and d
        ),
    )
    assert dep["status"]["readyReplicas"] == 2


def test_pods_on_the_manual_node_wait_for_the_test(
    kube_cluster: KubeControlPlane, kube_namespace: str
) -> None:
    kube_cluster.apply(_deployment("slow", MANUAL_POD_SPEC), kube_namespace)
    pods = kube_cluster.wait_for(
        "slow's pods to be scheduled",
        lambda: (
            [
                p
                for p in kube_cluster.list("pods", kube_namespace, "app=slow")
                if p["spec"].get("nodeName") == "manual-1"
            ]
            if len(kube_cluster.list("pods", kube_namespace, "app=slow")) == 2
            else None
        ),
    )
    assert len(pods) == 2
    dep = kube_cluster.get("deployment", "slow", kube_namespace)
    assert dep is not None and not dep["status"].get("readyReplicas")
    for pod in pods:
        kube_cluster.mark_pod_ready(kube_namespace, pod["metadata"]["name"])
    kube_cluster.wait_for(
        "slow to become available",
        lambda: (
            (kube_cluster.get("deployment", "slow", kube_namespace) or {})
            .get("status", {})
            .get("availableReplicas")
            == 2
        ),
    )
