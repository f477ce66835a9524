"""The strategy.spinnaker.io annotations on the real cluster: server-side apply, replace,
recreate, versioned overrides, max-version-history and use-source-capacity."""

from __future__ import annotations

from typing import Any

import pytest

from gennaker.model.status import ExecutionStatus
from tests.stages.manifest.conftest import KubeHarness, config_map, deploy_stage, replica_set

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("kube")]


def _deploy(kube: KubeHarness, manifests: list[dict[str, Any]], run_id: str) -> Any:
    done = kube.run_pipeline([deploy_stage(kube.namespace, manifests)], id=run_id)
    assert done.status == ExecutionStatus.SUCCEEDED, done.stages[0].context.get("exception")
    return done


def _configs(kube: KubeHarness, prefix: str) -> list[str]:
    return sorted(
        c["metadata"]["name"]
        for c in kube.cluster.list("configmap", kube.namespace)
        if c["metadata"]["name"].startswith(prefix)
    )


def test_server_side_apply_replace_and_recreate(kube: KubeHarness) -> None:
    ns = kube.namespace
    unversioned = {"strategy.spinnaker.io/versioned": "false"}
    _deploy(
        kube,
        [config_map("ssa", {"a": "1"}, **unversioned, **{"strategy.spinnaker.io/server-side-apply": "true"})],
        "s1",
    )
    live = kube.cluster.get("configmap", "ssa", ns)
    assert live is not None and any(
        m["manager"] == "gennaker" and m["operation"] == "Apply" for m in live["metadata"]["managedFields"]
    )

    _deploy(
        kube,
        [config_map("rep", {"a": "1"}, **unversioned, **{"strategy.spinnaker.io/replace": "true"})],
        "r1",
    )
    _deploy(
        kube,
        [config_map("rep", {"b": "2"}, **unversioned, **{"strategy.spinnaker.io/replace": "true"})],
        "r2",
    )
    live = kube.cluster.get("configmap", "rep", ns)
    assert live is not None and live["data"] == {"b": "2"}
    assert "kubectl.kubernetes.io/last-applied-configuration" not in live["metadata"]["annotations"]

    _deploy(
        kube,
        [config_map("rec", {"a": "1"}, **unversioned, **{"strategy.spinnaker.io/recreate": "true"})],
        "c1",
    )
    first = kube.cluster.get("configmap", "rec", ns)
    _deploy(
        kube,
        [config_map("rec", {"a": "2"}, **unversioned, **{"strategy.spinnaker.io/recreate": "true"})],
        "c2",
    )
    second = kube.cluster.get("configmap", "rec", ns)
    assert first is not None and second is not None
    assert first["metadata"]["uid"] != second["metadata"]["uid"] and second["data"] == {"a": "2"}


def test_max_version_history_keeps_the_newest(kube: KubeHarness) -> None:
    keep = {"strategy.spinnaker.io/max-version-history": "2"}
    for n in range(4):
        _deploy(kube, [config_map("hist", {"n": str(n)}, **keep)], f"h{n}")
    assert _configs(kube, "hist") == ["hist-v002", "hist-v003"]


def test_use_source_capacity_copies_the_latest_replicas(kube: KubeHarness) -> None:
    ns = kube.namespace
    _deploy(kube, [replica_set("web", version="1", replicas=3)], "u1")
    source = {"strategy.spinnaker.io/use-source-capacity": "true"}
    _deploy(kube, [replica_set("web", version="2", replicas=1, **source)], "u2")
    live = kube.cluster.get("replicaset", "web-v001", ns)
    assert live is not None and live["spec"]["replicas"] == 3


def test_secret_values_never_reach_the_execution(kube: KubeHarness) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds"},
        "stringData": {"password": "hunter2"},
    }
    done = _deploy(kube, [secret], "sec")
    assert "hunter2" not in str(done.stages[0].outputs) and "aHVudGVyMg" not in str(done.stages[0].outputs)
    live = kube.cluster.get("secret", "creds-v000", kube.namespace)
    assert live is not None and live["data"]["password"] == "aHVudGVyMg=="
    view = kube.provider.manifest("k8s", kube.namespace, "secret creds-v000")
    assert view is not None and view["manifest"]["data"] == {"password": "**redacted**"}
