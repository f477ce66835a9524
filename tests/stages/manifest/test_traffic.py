"""Red/black and highlander rollouts of ReplicaSets behind a Service, and enable/disable: the old
ReplicaSet's pod template and pods lose the Service's selector labels."""

from __future__ import annotations

import pytest

from gennaker.model.status import ExecutionStatus
from tests.stages.manifest.conftest import ACCOUNT, KubeHarness, deploy_stage, replica_set, service

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("kube")]

TRAFFIC = {
    "enabled": True,
    "options": {"enableTraffic": True, "services": ["service web"], "strategy": "redblack"},
}


def _pods_with(kube: KubeHarness, selector: str) -> list[str]:
    return sorted(p["metadata"]["name"] for p in kube.cluster.list("pods", kube.namespace, selector))


def _deploy(kube: KubeHarness, version: str, strategy: str, run_id: str) -> None:
    traffic = {**TRAFFIC, "options": {**TRAFFIC["options"], "strategy": strategy}}
    done = kube.run_pipeline(
        [deploy_stage(kube.namespace, [replica_set("web", version=version)], trafficManagement=traffic)],
        id=run_id,
    )
    assert done.status == ExecutionStatus.SUCCEEDED, [s.context.get("exception") for s in done.stages]


def test_red_black_disables_the_previous_replica_set(kube: KubeHarness) -> None:
    ns = kube.namespace
    kube.cluster.apply(service("web", {"serving": "web"}), ns)
    _deploy(kube, "1", "redblack", "rb-1")
    v000 = kube.cluster.get("replicaset", "web-v000", ns)
    assert v000 is not None
    assert v000["spec"]["template"]["metadata"]["labels"]["serving"] == "web"
    assert v000["metadata"]["annotations"]["traffic.spinnaker.io/load-balancers"] == '["service web"]'
    assert len(_pods_with(kube, "serving=web")) == 2

    _deploy(kube, "2", "redblack", "rb-2")
    assert kube.cluster.get("replicaset", "web-v001", ns) is not None
    old = kube.cluster.get("replicaset", "web-v000", ns)
    assert old is not None and "serving" not in old["spec"]["template"]["metadata"]["labels"]
    serving = _pods_with(kube, "serving=web")
    assert len(serving) == 2 and all(p.startswith("web-v001-") for p in serving)
    assert len(_pods_with(kube, "app=web,version=1")) == 2  # disabled, still running

    kube.agents_round()
    groups = kube.services.clouddriver.cache.query("serverGroups", account=ACCOUNT, region=ns)
    by_name = {g["name"]: g for g in groups}
    assert by_name["replicaSet web-v000"]["disabled"] is True
    assert by_name["replicaSet web-v000"]["isDisabled"] is True
    assert by_name["replicaSet web-v001"]["disabled"] is False
    assert by_name["replicaSet web-v001"]["loadBalancers"] == ["service web"]

    enable = {
        "refId": "1",
        "type": "enableManifest",
        "account": ACCOUNT,
        "cloudProvider": "kubernetes",
        "manifestName": "replicaSet web-v000",
        "location": ns,
    }
    done = kube.run_pipeline([enable], id="enable")
    assert done.status == ExecutionStatus.SUCCEEDED, done.stages[0].context.get("exception")
    assert len(_pods_with(kube, "serving=web")) == 4


def test_highlander_deletes_the_previous_replica_set(kube: KubeHarness) -> None:
    ns = kube.namespace
    kube.cluster.apply(service("web", {"serving": "web"}), ns)
    _deploy(kube, "1", "highlander", "hl-1")
    _deploy(kube, "2", "highlander", "hl-2")
    assert kube.cluster.get("replicaset", "web-v000", ns) is None
    assert kube.cluster.get("replicaset", "web-v001", ns) is not None


def test_red_black_needs_two_versions_of_history(kube: KubeHarness) -> None:
    kube.cluster.apply(service("web", {"serving": "web"}), kube.namespace)
    manifest = replica_set("web", version="1", **{"strategy.spinnaker.io/max-version-history": "1"})
    done = kube.run_pipeline([deploy_stage(kube.namespace, [manifest], trafficManagement=TRAFFIC)])
    assert done.status == ExecutionStatus.TERMINAL
    assert "conflicts with the behavior of the Red/Black rollout strategy" in str(
        done.stages[0].context["exception"]
    )
    assert kube.cluster.list("replicaset", kube.namespace) == []
