"""Gate's infrastructure reads for the kubernetes provider against the real control plane:
credentials with namespaces as regions, ReplicaSets as server groups with pod instances and their
kubernetes/pod and kubernetes/container health, Deployments as server group managers, Services as
load balancers, live manifests with status, dynamic targets, and an unreachable cluster shown
unhealthy."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gennaker.model.status import ExecutionStatus
from gennaker.providers.protocol import ProviderUnavailable, RefreshDeferred
from gennaker.services import Services
from tests.api.live import SyncClient
from tests.kube_cluster import KubeControlPlane
from tests.stages.manifest.conftest import (
    ACCOUNT,
    KubeHarness,
    deploy_stage,
    deployment,
    kube_settings,
    replica_set,
    service,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("kube")]

MakeApi = Callable[..., tuple[Services, SyncClient]]


def _harness(services: Services, cluster: KubeControlPlane, namespace: str) -> KubeHarness:
    harness = KubeHarness(services)
    harness.cluster = cluster
    harness.namespace = namespace
    return harness


def test_read_model_shapes(make_api: MakeApi, kube_cluster: KubeControlPlane, kube_namespace: str) -> None:
    ns = kube_namespace
    services, client = make_api(providers=kube_settings(kube_cluster))
    kube = _harness(services, kube_cluster, ns)
    kube_cluster.apply(service("web", {"serving": "web"}), ns)
    traffic = {
        "enabled": True,
        "options": {"enableTraffic": True, "services": ["service web"], "strategy": "redblack"},
    }
    manifests = [replica_set("web", version="1"), deployment("api")]
    done = kube.run_pipeline([deploy_stage(ns, manifests, trafficManagement=traffic)])
    assert done.status == ExecutionStatus.SUCCEEDED, done.stages[0].context.get("exception")
    kube.agents_round()

    _, other = make_api(providers=kube_settings(kube_cluster))  # a process that ran no agent
    other_creds = {c["name"]: c for c in other.get("/credentials?expand=true").json()}
    assert ns in [r["name"] for r in other_creds[ACCOUNT]["regions"]]
    creds = {c["name"]: c for c in client.get("/credentials?expand=true").json()}
    assert creds[ACCOUNT]["type"] == "kubernetes"
    assert ns in [r["name"] for r in creds[ACCOUNT]["regions"]]
    assert creds[ACCOUNT]["health"] == {"state": "UP"}

    groups = {g["name"]: g for g in client.get("/applications/shop/serverGroups").json() if g["region"] == ns}
    web = groups["replicaSet web-v000"]
    assert web["cloudProvider"] == "kubernetes" and web["account"] == ACCOUNT
    assert web["moniker"] == {"app": "shop", "cluster": "replicaSet web", "sequence": 0}
    assert web["capacity"]["desired"] == 2 and web["instanceCounts"]["up"] == 2
    assert web["loadBalancers"] == ["service web"] and web["isDisabled"] is False
    instance = web["instances"][0]
    assert instance["name"].startswith("pod web-v000-")
    assert [h["type"] for h in instance["health"]] == ["kubernetes/pod", "kubernetes/container"]
    assert all(h["state"] == "Up" for h in instance["health"]) and instance["healthState"] == "Up"
    api_rs = next(g for n, g in groups.items() if n.startswith("replicaSet api-"))
    full = client.get(f"/applications/shop/serverGroups/{ACCOUNT}/{ns}/{api_rs['name']}").json()
    assert full["serverGroupManagers"] == [{"account": ACCOUNT, "location": ns, "name": "api"}]

    managers = client.get("/applications/shop/serverGroupManagers").json()
    manager = next(m for m in managers if m["region"] == ns)
    assert manager["name"] == "deployment api" and manager["kind"] == "deployment"
    assert [g["name"] for g in manager["serverGroups"]] == [api_rs["name"]]

    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "annotations": {"moniker.spinnaker.io/application": "shop"}},
        "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}},
    }
    kube_cluster.apply(ingress, ns)
    kube.agents_round()
    lbs = [lb for lb in client.get("/applications/shop/loadBalancers").json() if lb["region"] == ns]
    assert [lb["name"] for lb in lbs] == ["ingress web", "service web"]
    assert [g["name"] for g in lbs[1]["serverGroups"]] == ["replicaSet web-v000"]
    assert lbs[0]["moniker"]["app"] == "shop"  # by its annotation
    assert lbs[1]["application"] == "web"  # by its name; listed as a server group of shop uses it

    view = client.get(f"/manifests/{ACCOUNT}/{ns}/deployment api").json()
    assert view["name"] == "deployment api" and view["location"] == ns
    assert view["status"]["stable"] == {"state": True}
    assert view["status"]["failed"] == {"state": False}
    assert view["status"]["available"] == {"state": True}
    assert view["status"]["paused"] == {"state": False}
    assert view["manifest"]["kind"] == "Deployment"
    assert any(e["reason"] == "ScalingReplicaSet" for e in view["events"])
    assert client.get(f"/manifests/{ACCOUNT}/{ns}/deployment nothing").status_code == 404

    target = client.get(
        f"/manifests/{ACCOUNT}/{ns}/replicaSet/cluster/shop/replicaSet web/dynamic/newest"
    ).json()
    assert target["name"] == "replicaSet web-v000"
    bad = client.get(f"/manifests/{ACCOUNT}/{ns}/replicaSet/cluster/shop/replicaSet web/dynamic/biggest")
    assert bad.status_code == 400 and "criteria must be one of" in bad.text


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_cluster_is_reported_unhealthy(
    make_api: MakeApi, kube_cluster: KubeControlPlane, tmp_path: Path
) -> None:
    config: dict[str, Any] = yaml.safe_load(kube_cluster.kubeconfig.read_text())
    port = _closed_port()
    for entry in config["clusters"]:
        entry["cluster"]["server"] = f"https://127.0.0.1:{port}"
    gone = tmp_path / "gone.kubeconfig"
    gone.write_text(yaml.safe_dump(config))
    settings = kube_settings(kube_cluster)
    settings["kubernetes"]["accounts"].append(
        {"name": "gone", "kubeconfig": str(gone), "request_timeout_seconds": 3}
    )
    services, client = make_api(providers=settings)
    kube = _harness(services, kube_cluster, "default")
    kube.agents_round()

    health = client.get("/health").json()
    assert health["accounts"][ACCOUNT] == {"state": "UP"}
    assert health["accounts"]["gone"]["state"] == "DOWN"
    assert f"127.0.0.1:{port}" in health["accounts"]["gone"]["error"]
    creds = {c["name"]: c for c in client.get("/credentials?expand=true").json()}
    assert creds["gone"]["health"]["state"] == "DOWN"

    # Another process on the same database (an API-only one that runs no agents) sees it too.
    _, other = make_api(providers=settings)
    assert other.get("/health").json()["accounts"]["gone"]["state"] == "DOWN"
    assert {c["name"]: c for c in other.get("/credentials?expand=true").json()}["gone"]["healthy"] is False

    provider = kube.provider
    with pytest.raises(RefreshDeferred):  # backing off: kubectl is not run again at once
        asyncio.run(provider.refresh("gone"))
    kube.clock.advance(ms=5_000)
    with pytest.raises(ProviderUnavailable) as retried:
        asyncio.run(provider.refresh("gone"))
    assert not isinstance(retried.value, RefreshDeferred)

    stage = {**deploy_stage("default", [deployment("x")]), "account": "gone"}
    done = kube.run_pipeline([stage])
    assert done.status == ExecutionStatus.TERMINAL
    error = done.stages[0].context["exception"]["details"]["errors"][0]
    assert f"https://127.0.0.1:{port}" in error and "unreachable" in error
