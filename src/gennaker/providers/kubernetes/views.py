"""The read model of one account (Clouddriver's Kubernetes caching view): ReplicaSets,
StatefulSets and DaemonSets as server groups, pods as instances, Services and Ingresses as load
balancers, Deployments as server group managers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from gennaker.model.moniker import parse_name
from gennaker.providers.kubernetes.manifest import (
    CACHING_IGNORE,
    MONIKER,
    load_balancers,
    metadata,
    moniker_of,
    read_annotations,
    resource_name,
    spinnaker_kind,
)
from gennaker.providers.protocol import INSTANCES, LOAD_BALANCERS, SERVER_GROUPS, CacheRecord

SERVER_GROUP_MANAGERS = "serverGroupManagers"
PROVIDER = "kubernetes"
#: Kinds read by the caching agent, by kubectl name.
CACHED_KINDS = ("deployment", "replicaset", "statefulset", "daemonset", "pod", "service", "ingress")
_SERVER_GROUP_KINDS = ("replicaset", "statefulset", "daemonset")


def created_ms(manifest: Mapping[str, Any]) -> int | None:
    stamp = metadata(manifest).get("creationTimestamp")
    if not isinstance(stamp, str):
        return None
    try:
        return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def application_of(manifest: Mapping[str, Any]) -> str | None:
    app = read_annotations(manifest).get(MONIKER + "application")
    return str(app) if app else parse_name(str(metadata(manifest).get("name", ""))).app


def _moniker(manifest: Mapping[str, Any]) -> dict[str, Any]:
    moniker = moniker_of(manifest)
    moniker.setdefault("app", application_of(manifest))
    moniker.setdefault("cluster", resource_name(manifest))
    return moniker


def pod_health(pod: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``kubernetes/pod`` and one ``kubernetes/container`` health per container (KubernetesHealth)."""
    raw = pod.get("status")
    status: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    phase = str(status.get("phase") or "Unknown")
    state = {"Pending": "Down", "Running": "Up", "Succeeded": "Succeeded", "Failed": "Failed"}.get(
        phase, "Unknown"
    )
    health: list[dict[str, Any]] = [
        {"type": "kubernetes/pod", "state": state, "message": phase, "healthClass": "platform"}
    ]
    statuses = {c.get("name"): c for c in status.get("containerStatuses") or [] if isinstance(c, Mapping)}
    for container in (pod.get("spec") or {}).get("containers") or []:
        found = statuses.get(container.get("name"))
        if found is None:
            c_state, message = "Down", "Container has not started"
        elif found.get("ready"):
            c_state, message = "Up", None
        elif "terminated" in (found.get("state") or {}):
            c_state, message = "Failed", "Container terminated"
        else:
            c_state, message = "Down", "Container is not ready"
        entry = {"type": "kubernetes/container", "name": container.get("name"), "state": c_state}
        if message:
            entry["message"] = message
        health.append(entry)
    return health


def health_state(health: Sequence[Mapping[str, Any]]) -> str:
    """The instance's aggregate state (KubernetesModelUtil)."""
    states = [h.get("state") for h in health]
    for special in ("Failed", "Succeeded"):
        if any(s == special for s in states if s != "Unknown") and states[0] == special:
            return special
    if any(s in ("Down", "Failed") for s in states):
        return "Down"
    known = [s for s in states if s != "Unknown"]
    return "Up" if known and all(s == "Up" for s in known) else "Unknown"


def _instance(pod: Mapping[str, Any], account: str, server_group: str | None) -> dict[str, Any]:
    meta = metadata(pod)
    health = pod_health(pod)
    namespace = str(meta.get("namespace") or "")
    return {
        "name": meta.get("uid") or meta.get("name"),
        "humanReadableName": resource_name(pod),
        "displayName": meta.get("name"),
        "account": account,
        "region": namespace,
        "zone": namespace,
        "namespace": namespace,
        "cloudProvider": PROVIDER,
        "providerType": PROVIDER,
        "kind": "pod",
        "launchTime": created_ms(pod),
        "health": health,
        "healthState": health_state(health),
        "labels": dict(meta.get("labels") or {}),
        "moniker": _moniker(pod),
        "serverGroup": server_group,
        "apiVersion": pod.get("apiVersion"),
    }


def _owner_uids(manifest: Mapping[str, Any]) -> set[str]:
    return {
        str(o.get("uid")) for o in metadata(manifest).get("ownerReferences") or [] if isinstance(o, Mapping)
    }


def _matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _template_labels(manifest: Mapping[str, Any]) -> Mapping[str, str]:
    found = (((manifest.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")
    return found if isinstance(found, Mapping) else {}


def _images(manifest: Mapping[str, Any]) -> list[str]:
    spec = ((manifest.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [
        str(c.get("image")) for c in spec.get("containers") or [] if isinstance(c, Mapping) and c.get("image")
    ]


def records(
    account: str, items: Sequence[Mapping[str, Any]], only_managed: bool = False
) -> list[CacheRecord]:
    """The account's cache records from the live objects."""
    items = [
        i
        for i in items
        if str(read_annotations(i).get(CACHING_IGNORE, "")).lower() != "true"
        and (not only_managed or read_annotations(i).get(MONIKER + "application"))
    ]
    by_kind: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        by_kind.setdefault(str(item.get("kind", "")).lower(), []).append(item)
    services = by_kind.get("service", [])
    pods = by_kind.get("pod", [])
    deployments = {str(metadata(d).get("uid")): d for d in by_kind.get("deployment", [])}
    out: list[CacheRecord] = []
    groups: list[dict[str, Any]] = []
    for kind in _SERVER_GROUP_KINDS:
        for manifest in by_kind.get(kind, []):
            group = _server_group(account, manifest, pods, services, deployments)
            groups.append(group)
            out.append(
                CacheRecord(
                    SERVER_GROUPS, account, group["region"], group["name"], group["application"], group
                )
            )
            for instance in group["instances"]:
                out.append(
                    CacheRecord(
                        INSTANCES,
                        account,
                        instance["region"],
                        str(instance["name"]),
                        group["application"],
                        instance,
                    )
                )
    grouped = {i["name"] for g in groups for i in g["instances"]}
    for pod in pods:
        if metadata(pod).get("uid") not in grouped:
            instance = _instance(pod, account, None)
            out.append(
                CacheRecord(
                    INSTANCES,
                    account,
                    instance["region"],
                    str(instance["name"]),
                    application_of(pod),
                    instance,
                )
            )
    for manifest in [*services, *by_kind.get("ingress", [])]:
        lb = _load_balancer(account, manifest, groups)
        out.append(CacheRecord(LOAD_BALANCERS, account, lb["region"], lb["name"], lb["application"], lb))
    for manifest in deployments.values():
        manager = _manager(account, manifest, groups)
        out.append(
            CacheRecord(
                SERVER_GROUP_MANAGERS,
                account,
                manager["region"],
                manager["name"],
                manager["application"],
                manager,
            )
        )
    return out


def _server_group(
    account: str,
    manifest: Mapping[str, Any],
    pods: Sequence[Mapping[str, Any]],
    services: Sequence[Mapping[str, Any]],
    deployments: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    meta = metadata(manifest)
    namespace = str(meta.get("namespace") or "")
    name = resource_name(manifest)
    uid = meta.get("uid")
    instances = [_instance(p, account, name) for p in pods if uid in _owner_uids(p)]
    counts = {
        k: 0 for k in ("total", "up", "down", "unknown", "outOfService", "starting", "succeeded", "failed")
    }
    for instance in instances:
        counts["total"] += 1
        key = {"Up": "up", "Down": "down", "Succeeded": "succeeded", "Failed": "failed"}.get(
            instance["healthState"], "unknown"
        )
        counts[key] += 1
    try:
        annotated = load_balancers(manifest)
    except ValueError:
        annotated = []
    template = _template_labels(manifest)
    current = [
        resource_name(s)
        for s in services
        if metadata(s).get("namespace") == namespace
        and _matches((s.get("spec") or {}).get("selector") or {}, template)
    ]
    spec = manifest.get("spec") or {}
    status = manifest.get("status") or {}
    desired = int(spec.get("replicas", status.get("desiredNumberScheduled", 0)) or 0)
    moniker = _moniker(manifest)
    managers = [
        {"account": account, "location": namespace, "name": metadata(deployments[o]).get("name")}
        for o in _owner_uids(manifest)
        if o in deployments
    ]
    disabled = bool(annotated) and not current
    return {
        "name": name,
        "displayName": meta.get("name"),
        "account": account,
        "region": namespace,
        "namespace": namespace,
        "zones": [namespace],
        "kind": spinnaker_kind(str(manifest.get("kind", ""))),
        "apiVersion": manifest.get("apiVersion"),
        "cloudProvider": PROVIDER,
        "type": PROVIDER,
        "providerType": PROVIDER,
        "application": moniker.get("app"),
        "cluster": moniker.get("cluster"),
        "moniker": moniker,
        "createdTime": created_ms(manifest),
        "capacity": {"min": desired, "max": desired, "desired": desired},
        "instances": instances,
        "instanceCounts": counts,
        "loadBalancers": sorted(set(annotated) | set(current)),
        "securityGroups": [],
        "serverGroupManagers": managers,
        "disabled": disabled,
        "isDisabled": disabled,
        "buildInfo": {"images": _images(manifest)},
        "labels": dict(meta.get("labels") or {}),
        "launchConfig": {},
        "tags": {},
        "manifest": manifest,
    }


def _load_balancer(
    account: str, manifest: Mapping[str, Any], groups: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    meta = metadata(manifest)
    name = resource_name(manifest)
    namespace = str(meta.get("namespace") or "")
    moniker = _moniker(manifest)
    members = [
        {
            "name": g["name"],
            "account": account,
            "region": g["region"],
            "isDisabled": g["isDisabled"],
            "detachedInstances": [],
            "instances": [
                {
                    "id": i["name"],
                    "name": i["humanReadableName"],
                    "zone": i["zone"],
                    "health": {"state": i["healthState"]},
                }
                for i in g["instances"]
            ],
            "cloudProvider": PROVIDER,
        }
        for g in groups
        if g["region"] == namespace and name in g["loadBalancers"]
    ]
    return {
        "name": name,
        "displayName": meta.get("name"),
        "account": account,
        "region": namespace,
        "namespace": namespace,
        "kind": spinnaker_kind(str(manifest.get("kind", ""))),
        "apiVersion": manifest.get("apiVersion"),
        "cloudProvider": PROVIDER,
        "type": PROVIDER,
        "providerType": PROVIDER,
        "application": moniker.get("app"),
        "moniker": moniker,
        "createdTime": created_ms(manifest),
        "serverGroups": members,
        "labels": dict(meta.get("labels") or {}),
        "manifest": manifest,
    }


def _manager(
    account: str, manifest: Mapping[str, Any], groups: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    meta = metadata(manifest)
    namespace = str(meta.get("namespace") or "")
    moniker = _moniker(manifest)
    owned = [
        {
            "account": account,
            "name": g["name"],
            "namespace": namespace,
            "region": namespace,
            "moniker": g["moniker"],
        }
        for g in groups
        if any(m["name"] == meta.get("name") and m["location"] == namespace for m in g["serverGroupManagers"])
    ]
    return {
        "name": resource_name(manifest),
        "displayName": meta.get("name"),
        "account": account,
        "region": namespace,
        "namespace": namespace,
        "kind": "deployment",
        "cloudProvider": PROVIDER,
        "type": PROVIDER,
        "providerType": PROVIDER,
        "application": moniker.get("app"),
        "moniker": moniker,
        "createdTime": created_ms(manifest),
        "serverGroups": owned,
        "labels": dict(meta.get("labels") or {}),
        "manifest": manifest,
    }
