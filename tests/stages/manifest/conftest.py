"""The manifest stages' harness: the stage harness with a ``kubernetes`` account ``k8s`` on the
session's real control plane (tests/kube_cluster.py), the caching agents run between engine
rounds, and a namespace per test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from gennaker.model.execution import Execution
from gennaker.providers.agents import AgentRunner
from gennaker.providers.kubernetes.provider import KubernetesProvider
from tests.kube_cluster import KubeControlPlane
from tests.stages.conftest import Harness

ACCOUNT = "k8s"


def kube_settings(cluster: KubeControlPlane, **account: Any) -> dict[str, Any]:
    """``providers`` settings with one account on the test cluster."""
    return {
        "kubernetes": {
            "kubectl": str(cluster.kubectl),
            "accounts": [{"name": ACCOUNT, "kubeconfig": str(cluster.kubeconfig), **account}],
        }
    }


class KubeHarness(Harness):
    """Runs the engine and the agents until a condition holds (the cluster works in real time)."""

    cluster: KubeControlPlane
    namespace: str

    def agents_round(self) -> None:
        async def once() -> None:
            runner = AgentRunner(self.services.clouddriver, self.services.db, self.services.clock, "test")
            await runner.run_once()

        asyncio.run(once())

    def run_until(self, done: Callable[[], bool], *, seconds: float = 90, step_ms: int = 2_000) -> None:
        deadline = time.monotonic() + seconds
        while True:
            self.run(advance_clock=False)
            if done():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not done after {seconds} s")
            time.sleep(0.1)
            self.clock.advance(ms=step_ms)

    def run_pipeline(self, stages: list[dict[str, Any]], **config: Any) -> Execution:
        execution = self.start(stages, application=config.pop("application", "shop"), **config)
        return self.run_until_complete(execution.id)

    @property
    def provider(self) -> KubernetesProvider:
        provider = self.services.clouddriver.registry.get("kubernetes")
        assert isinstance(provider, KubernetesProvider)
        return provider


@pytest.fixture
def kube(
    make_harness: Callable[..., Harness], kube_cluster: KubeControlPlane, kube_namespace: str
) -> KubeHarness:
    base = make_harness(providers=kube_settings(kube_cluster))
    harness = KubeHarness(base.services)
    harness.cluster = kube_cluster
    harness.namespace = kube_namespace
    return harness


def deploy_stage(
    namespace: str, manifests: list[dict[str, Any]], ref: str = "1", **extra: Any
) -> dict[str, Any]:
    """A deployManifest stage of inline manifests to the test account."""
    return {
        "refId": ref,
        "type": "deployManifest",
        "name": f"Deploy {ref}",
        "account": ACCOUNT,
        "cloudProvider": "kubernetes",
        "source": "text",
        "namespaceOverride": namespace,
        "moniker": {"app": "shop"},
        "manifests": manifests,
        **extra,
    }


def config_map(name: str, data: dict[str, str], **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, **({"annotations": annotations} if annotations else {})},
        "data": data,
    }


def deployment(
    name: str,
    *,
    image: str = "nginx",
    config: str | None = None,
    replicas: int = 2,
    pod_spec: dict[str, Any] | None = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": image}
    if config:
        container["envFrom"] = [{"configMapRef": {"name": config}}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container], **(pod_spec or {})},
            },
        },
    }


def replica_set(name: str, *, version: str, replicas: int = 2, **annotations: str) -> dict[str, Any]:
    labels = {"app": name, "version": version}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, **({"annotations": annotations} if annotations else {})},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [{"name": "app", "image": f"nginx:{version}"}]},
            },
        },
    }


def service(name: str, selector: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]},
    }
