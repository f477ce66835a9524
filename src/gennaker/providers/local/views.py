"""The local provider's read model in Clouddriver's shapes (reference §2): server groups with
their instances and health, load balancers with their server groups, images.

Health of an instance (reference §2.3, §9): the platform health ``Local`` (Starting before the
first check result, Unknown while the process runs, Down when it has exited), the instance's own
health check ``HealthCheck`` (Up/Down/Starting; OutOfService while out of rotation, as AWS's
Discovery health), and, for server groups in load balancers, ``LoadBalancer`` from HAProxy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.model.moniker import Moniker
from gennaker.providers.local.account import LocalAccountRuntime
from gennaker.providers.local.state import (
    ACTIVE,
    CREATING,
    EXITED,
    RUNNING,
    Instance,
    LoadBalancer,
    ServerGroup,
)
from gennaker.providers.protocol import IMAGES, INSTANCES, LOAD_BALANCERS, SERVER_GROUPS, CacheRecord

PROVIDER = "local"
_STATES = ("Up", "Down", "OutOfService", "Unknown", "Starting", "Succeeded", "Failed", "Draining")


def _lb_instance_health(status: Any, lb: str, instance: Instance) -> dict[str, Any]:
    if status is None:
        state, health, description = "OutOfService", "Starting", "not yet seen by HAProxy"
    else:
        up = str(status.status).upper()
        if instance.traffic != "ready" or status.admin_state != "ready":
            state = "OutOfService"
            health = "Draining" if instance.traffic == "drain" and status.current_sessions else "OutOfService"
        elif up.startswith("UP") or up == "NO CHECK":
            state, health = "InService", "Up"
        elif up.startswith("DOWN"):
            state, health = "OutOfService", "Down"
        else:
            state, health = "OutOfService", "Starting"
        description = f"HAProxy: {status.status}" + (
            f" ({status.check_status})" if status.check_status else ""
        )
    return {
        "loadBalancerName": lb,
        "name": lb,
        "instanceId": instance.id,
        "state": state,
        "healthState": health,
        "description": description,
    }


def _aggregate(healths: list[dict[str, Any]]) -> str:
    known = [h["state"] for h in healths if h["state"] != "Unknown"]
    if known and all(s == "Up" for s in known):
        return "Up"
    for state in ("Starting", "Down", "OutOfService", "Draining"):
        if state in known:
            return "Down" if state == "Draining" else state
    return "Unknown"


def instance_view(
    rt: LocalAccountRuntime, group: ServerGroup, instance: Instance, statuses: Mapping[tuple[str, str], Any]
) -> dict[str, Any]:
    """One instance in Clouddriver's shape."""
    own = instance.health or {}
    first_result = own.get("checkedAt") is not None
    if instance.state == EXITED or (
        instance.state == RUNNING
        and own.get("state") == "Down"
        and own.get("description") == "the process exited"
    ):
        platform = "Down"
    elif instance.state == RUNNING and first_result:
        platform = "Unknown"
    elif instance.state == RUNNING:
        platform = "Starting"
    else:
        platform = "Down" if instance.state != "pending" else "Starting"
    healths: list[dict[str, Any]] = [{"type": "Local", "healthClass": "platform", "state": platform}]
    check_state = str(own.get("state") or "Starting")
    if instance.state == EXITED:
        check_state = "Down"
    if instance.traffic != "ready" and check_state == "Up":
        check_state = "OutOfService"
    healths.append({"type": "HealthCheck", "state": check_state, "description": own.get("description") or ""})
    lbs = [n for n in group.spec.get("loadBalancers") or []]
    if lbs:
        entries = [_lb_instance_health(statuses.get((lb, instance.id)), lb, instance) for lb in lbs]
        order = {"Starting": 0, "Down": 1, "OutOfService": 2, "Draining": 2, "Up": 3}
        worst = min((e["healthState"] for e in entries), key=lambda s: order.get(s, 0))
        healths.append(
            {
                "type": "LoadBalancer",
                "state": "OutOfService" if worst == "Draining" else worst,
                "loadBalancers": entries,
            }
        )
    return {
        "name": instance.id,
        "id": instance.id,
        "instanceId": instance.id,
        "humanReadableName": instance.id,
        "healthState": _aggregate(healths),
        "health": healths,
        "launchTime": instance.launched_at,
        "zone": group.region,
        "availabilityZone": group.region,
        "cloudProvider": PROVIDER,
        "providerType": PROVIDER,
        "account": rt.account.name,
        "region": group.region,
        "serverGroup": group.name,
        "cluster": group.cluster,
        "application": group.application,
        "privateIpAddress": "127.0.0.1",
        "port": instance.port,
        "processId": instance.pid,
        "restarts": instance.restarts,
        "lastExit": instance.last_exit,
        "labels": {},
    }


def server_group_view(
    rt: LocalAccountRuntime, group: ServerGroup, instances: list[dict[str, Any]]
) -> dict[str, Any]:
    """One server group in Clouddriver's full shape."""
    counts = {
        k: 0
        for k in (
            "total",
            "up",
            "down",
            "unknown",
            "outOfService",
            "starting",
            "succeeded",
            "failed",
            "draining",
        )
    }
    counts["total"] = len(instances)
    keys = {
        "Up": "up",
        "Down": "down",
        "Unknown": "unknown",
        "OutOfService": "outOfService",
        "Starting": "starting",
    }
    for instance in instances:
        counts[keys.get(instance["healthState"], "unknown")] += 1
    moniker = Moniker.from_name(group.name).to_json()
    image = rt.images.get(group.image_id)
    image_json = {
        "imageId": group.image_id,
        "name": image.name if image else None,
        "imageName": image.name if image else None,
    }
    return {
        "name": group.name,
        "account": rt.account.name,
        "accountName": rt.account.name,
        "region": group.region,
        "zones": [group.region],
        "cluster": group.cluster,
        "application": group.application,
        "type": PROVIDER,
        "cloudProvider": PROVIDER,
        "provider": PROVIDER,
        "moniker": moniker,
        "createdTime": group.created_at,
        "isDisabled": group.disabled,
        "disabled": group.disabled,
        "capacity": dict(group.capacity),
        "instanceCounts": counts,
        "instances": instances,
        "loadBalancers": list(group.spec.get("loadBalancers") or []),
        "securityGroups": [],
        "serverGroupManagers": [],
        "labels": {},
        "tags": {},
        "instanceType": "process",
        "image": image_json,
        "buildInfo": {
            "package_name": image.tags.get("package") if image else None,
            "version": image.version if image else None,
            "images": [image.name] if image else [],
        },
        "launchConfig": {
            "command": group.spec.get("command"),
            "healthCheck": group.spec.get("healthCheck") or {},
            "imageId": group.image_id,
        },
        "status": group.status,
    }


def load_balancer_view(
    rt: LocalAccountRuntime, lb: LoadBalancer, groups: list[dict[str, Any]]
) -> dict[str, Any]:
    """One load balancer in Clouddriver's shape, with the server groups behind it."""
    members = []
    for group in groups:
        if lb.name not in group["loadBalancers"]:
            continue
        members.append(
            {
                "name": group["name"],
                "account": group["account"],
                "region": group["region"],
                "isDisabled": group["isDisabled"],
                "disabled": group["isDisabled"],
                "cloudProvider": PROVIDER,
                "detachedInstances": [],
                "instances": [
                    {
                        "id": i["id"],
                        "name": i["name"],
                        "zone": i["zone"],
                        "health": next(
                            (h for h in i["health"] if h["type"] == "LoadBalancer"), {"state": "Unknown"}
                        ),
                    }
                    for i in group["instances"]
                ],
            }
        )
    listener = (lb.spec.get("listeners") or [{}])[0]
    address = rt.account.bind_address
    port = listener.get("port")
    try:
        moniker = Moniker.from_name(lb.name).to_json()
    except ValueError:
        moniker = {"app": lb.application, "cluster": lb.name}
    return {
        "name": lb.name,
        "loadBalancerName": lb.name,
        "account": rt.account.name,
        "region": lb.region,
        "type": PROVIDER,
        "cloudProvider": PROVIDER,
        "provider": PROVIDER,
        "loadBalancerType": "haproxy",
        "moniker": moniker,
        "application": lb.application,
        "listeners": lb.spec.get("listeners") or [],
        "healthCheck": lb.spec.get("healthCheck") or {},
        "dnsName": f"{address}:{port}",
        "url": f"http://{address}:{port}/"
        if str(listener.get("protocol") or "HTTP").upper() == "HTTP"
        else None,
        "serverGroups": members,
        "createdTime": lb.created_at,
        "labels": {},
    }


def records(rt: LocalAccountRuntime) -> list[CacheRecord]:
    """The account's whole read model."""
    statuses = rt.traffic.status()
    groups = [g for g in rt.state.groups() if g.status in (ACTIVE, CREATING)]
    by_group: dict[str, list[Instance]] = {}
    for instance in rt.state.instances():
        by_group.setdefault(instance.server_group, []).append(instance)
    out: list[CacheRecord] = []
    group_views = []
    name = rt.account.name
    for group in groups:
        instances = [instance_view(rt, group, i, statuses) for i in by_group.get(group.name, [])]
        view = server_group_view(rt, group, instances)
        group_views.append(view)
        out.append(CacheRecord(SERVER_GROUPS, name, group.region, group.name, group.application, view))
        for item in instances:
            out.append(CacheRecord(INSTANCES, name, group.region, item["name"], group.application, item))
    for lb in rt.state.load_balancers():
        view = load_balancer_view(rt, lb, group_views)
        out.append(CacheRecord(LOAD_BALANCERS, name, lb.region, lb.name, lb.application, view))
    for image in rt.images.all():
        out.append(
            CacheRecord(
                IMAGES, name, rt.account.region, image.id, None, image.to_json(rt.account.region, name)
            )
        )
    return out
