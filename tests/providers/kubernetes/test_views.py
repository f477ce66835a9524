"""The read model built from live objects: health, ownership, traffic and what is cached."""

from __future__ import annotations

from typing import Any

from gennaker.providers.kubernetes.views import health_state, pod_health, records


def _rs(name: str, app: str | None = "shop", **labels: str) -> dict[str, Any]:
    notes = {"moniker.spinnaker.io/application": app} if app else {}
    if labels:
        notes["traffic.spinnaker.io/load-balancers"] = '["service web"]'
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "prod", "uid": f"uid-{name}", "annotations": notes},
        "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": "web", **labels}}}},
    }


def _pod(name: str, owner: str, phase: str, ready: bool) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "prod",
            "uid": f"uid-{name}",
            "ownerReferences": [{"uid": owner}],
        },
        "spec": {"containers": [{"name": "app"}]},
        "status": {"phase": phase, "containerStatuses": [{"name": "app", "ready": ready, "state": {}}]},
    }


def test_pod_health_and_its_aggregate() -> None:
    up = pod_health(_pod("a", "x", "Running", True))
    assert [(h["type"], h["state"]) for h in up] == [("kubernetes/pod", "Up"), ("kubernetes/container", "Up")]
    assert health_state(up) == "Up"
    pending = pod_health(_pod("b", "x", "Pending", False))
    assert health_state(pending) == "Down"


def test_disabled_means_annotated_but_matching_no_service() -> None:
    service = {
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "prod"},
        "spec": {"selector": {"serving": "web"}},
    }
    items = [
        _rs("web-v000", serving="web"),
        _rs("web-v001"),
        service,
        _pod("web-v000-a", "uid-web-v000", "Running", True),
    ]
    items[1]["metadata"]["annotations"]["traffic.spinnaker.io/load-balancers"] = '["service web"]'
    groups = {r.name: r.body for r in records("k8s", items) if r.kind == "serverGroups"}
    assert groups["replicaSet web-v000"]["disabled"] is False
    assert groups["replicaSet web-v000"]["instanceCounts"]["up"] == 1
    assert groups["replicaSet web-v001"]["disabled"] is True
    lb = next(r.body for r in records("k8s", items) if r.kind == "loadBalancers")
    assert [g["name"] for g in lb["serverGroups"]] == ["replicaSet web-v000", "replicaSet web-v001"]


def test_only_spinnaker_managed_and_ignored_resources() -> None:
    ignored = _rs("hidden-v000")
    ignored["metadata"]["annotations"]["caching.spinnaker.io/ignore"] = "true"
    items = [_rs("web-v000"), _rs("other-v000", app=None), ignored]
    everything = {r.name for r in records("k8s", items) if r.kind == "serverGroups"}
    assert everything == {"replicaSet web-v000", "replicaSet other-v000"}
    managed = {r.name for r in records("k8s", items, only_managed=True) if r.kind == "serverGroups"}
    assert managed == {"replicaSet web-v000"}
    other = next(r for r in records("k8s", items) if r.name == "replicaSet other-v000")
    assert other.application == "other"  # from the name, as Frigga parses it
