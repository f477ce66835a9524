"""The manifest stages on existing resources, each checked on the cluster: deleteManifest by a
dynamic target, scale, patch (strategic, merge, json), undo rollout, rolling restart,
findArtifactsFromResource."""

from __future__ import annotations

from typing import Any

import pytest

from gennaker.model.status import ExecutionStatus
from tests.stages.manifest.conftest import ACCOUNT, KubeHarness, deploy_stage, deployment, replica_set

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("kube")]


def _stage(kube: KubeHarness, type_name: str, **context: Any) -> dict[str, Any]:
    return {
        "refId": "1",
        "type": type_name,
        "account": ACCOUNT,
        "cloudProvider": "kubernetes",
        "location": kube.namespace,
        **context,
    }


def _ok(kube: KubeHarness, stage: dict[str, Any], run_id: str) -> Any:
    done = kube.run_pipeline([stage], id=run_id)
    assert done.status == ExecutionStatus.SUCCEEDED, [s.context.get("exception") for s in done.stages]
    return done


def _image(kube: KubeHarness) -> str:
    live = kube.cluster.get("deployment", "api", kube.namespace)
    assert live is not None
    return str(live["spec"]["template"]["spec"]["containers"][0]["image"])


def test_delete_by_dynamic_target_removes_the_oldest(kube: KubeHarness) -> None:
    ns = kube.namespace
    _ok(kube, deploy_stage(ns, [replica_set("web", version="1", replicas=1)]), "d1")
    _ok(kube, deploy_stage(ns, [replica_set("web", version="2", replicas=1)]), "d2")
    stage = _stage(
        kube,
        "deleteManifest",
        mode="dynamic",
        cluster="replicaSet web",
        criteria="oldest",
        kind="replicaSet",
        app="shop",
        options={"cascading": True},
    )
    done = _ok(kube, stage, "del")
    assert done.stages[0].context["manifestName"] == "replicaSet web-v000"
    assert kube.cluster.get("replicaset", "web-v000", ns) is None
    assert kube.cluster.get("replicaset", "web-v001", ns) is not None


def test_scale_patch_undo_and_restart(kube: KubeHarness) -> None:
    ns = kube.namespace
    _ok(kube, deploy_stage(ns, [deployment("api", image="nginx:1")]), "d1")

    _ok(kube, _stage(kube, "scaleManifest", manifestName="deployment api", replicas=3), "scale")
    live = kube.cluster.get("deployment", "api", ns)
    assert live is not None and live["spec"]["replicas"] == 3 and live["status"]["readyReplicas"] == 3

    strategic = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}}
    _ok(
        kube,
        _stage(
            kube,
            "patchManifest",
            manifestName="deployment api",
            patchBody=[strategic],
            options={"mergeStrategy": "strategic"},
        ),
        "p1",
    )
    assert _image(kube) == "nginx:2"

    merge = {"metadata": {"labels": {"team": "payments"}}}
    _ok(
        kube,
        _stage(
            kube,
            "patchManifest",
            manifestName="deployment api",
            patchBody=[merge],
            options={"mergeStrategy": "merge"},
        ),
        "p2",
    )
    live = kube.cluster.get("deployment", "api", ns)
    assert live is not None and live["metadata"]["labels"]["team"] == "payments"

    json_patch = [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:3"}]
    _ok(
        kube,
        _stage(
            kube,
            "patchManifest",
            manifestName="deployment api",
            patchBody=json_patch,
            options={"mergeStrategy": "json"},
        ),
        "p3",
    )
    assert _image(kube) == "nginx:3"

    _ok(kube, _stage(kube, "undoRolloutManifest", manifestName="deployment api", numRevisionsBack=1), "undo")
    assert _image(kube) == "nginx:2"

    _ok(kube, _stage(kube, "rollingRestartManifest", manifestName="deployment api"), "restart")
    live = kube.cluster.get("deployment", "api", ns)
    assert live is not None
    assert "kubectl.kubernetes.io/restartedAt" in live["spec"]["template"]["metadata"]["annotations"]

    found = _ok(kube, _stage(kube, "findArtifactsFromResource", manifestName="deployment api"), "find")
    images = [a for a in found.stages[0].outputs["artifacts"] if a["type"] == "docker/image"]
    assert images == [
        {"type": "docker/image", "name": "nginx", "reference": "nginx:2", "customKind": False, "metadata": {}}
    ]


def test_delete_by_label_selector(kube: KubeHarness) -> None:
    ns = kube.namespace
    one, two = replica_set("a", version="1", replicas=1), replica_set("b", version="1", replicas=1)
    one["metadata"]["labels"] = {"tier": "batch"}
    two["metadata"]["labels"] = {"tier": "web"}
    _ok(kube, deploy_stage(ns, [one, two]), "d1")
    selectors = {"selectors": [{"kind": "EQUALS", "key": "tier", "values": ["batch"]}]}
    stage = _stage(
        kube,
        "deleteManifest",
        kinds=["replicaSet"],
        labelSelectors=selectors,
        options={"cascading": True, "gracePeriodSeconds": 0},
    )
    done = _ok(kube, stage, "del")
    assert done.stages[0].outputs["outputs.manifestNamesByNamespace"] == {ns: ["replicaSet a-v000"]}
    assert [r["metadata"]["name"] for r in kube.cluster.list("replicaset", ns)] == ["b-v000"]
