"""Server group operations of one local account: create (and clone), resize, enable, disable,
destroy. Each is resumable: run again with the same operation id after a crash, it finishes the
same server group instead of making another, and a failure while creating removes what it made
(a server group exists with its instances, or not at all)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from gennaker.model.moniker import InvalidName, Moniker, cluster_name, next_sequence, validate_parts
from gennaker.providers.local.account import LocalAccountRuntime
from gennaker.providers.local.health import validate as validate_health
from gennaker.providers.local.state import ACTIVE, CREATING, DESTROYING, ServerGroup, capacity_of
from gennaker.providers.local.weights import check_weight
from gennaker.providers.protocol import OperationError

_SPEC_KEYS = ("command", "env", "healthCheck", "loadBalancers", "drainSeconds", "trafficWeight")


def _capacity(value: Any, where: str = "capacity") -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise OperationError(f'{where} must be an object {{"min": 1, "max": 1, "desired": 1}}')
    parts: dict[str, int] = {}
    for key in ("min", "max", "desired"):
        raw = value.get(key)
        if raw is None or raw == "":
            continue
        try:
            number = int(raw)
        except (TypeError, ValueError):
            raise OperationError(f"{where}.{key} must be a whole number (got {raw!r})") from None
        if number < 0:
            raise OperationError(f"{where}.{key} must not be negative (got {number})")
        parts[key] = number
    desired = parts.get("desired", parts.get("min", parts.get("max", 1)))
    result = {
        "min": parts.get("min", min(desired, parts.get("max", desired))),
        "max": parts.get("max", max(desired, parts.get("min", desired))),
        "desired": desired,
    }
    if result["min"] > result["max"]:
        raise OperationError(
            f"{where}: min ({result['min']}) is greater than max ({result['max']}); make min <= desired <= max"
        )
    if not result["min"] <= result["desired"] <= result["max"]:
        raise OperationError(
            f"{where}: desired ({result['desired']}) must be between min ({result['min']}) and max ({result['max']})"
        )
    return result


def _validate_spec(description: Mapping[str, Any]) -> dict[str, Any]:
    command = description.get("command")
    if isinstance(command, str):
        raise OperationError(
            f'command must be a list of arguments, not a string: write ["sh", "-c", {command!r}] '
            "or split it into its arguments"
        )
    if (
        not isinstance(command, list)
        or not command
        or any(isinstance(a, (dict, list)) or a is None for a in command)
    ):
        raise OperationError('command must be a non-empty list of arguments, e.g. ["python3", "app.py"]')
    env = description.get("env") or {}
    if not isinstance(env, Mapping) or any(isinstance(v, (dict, list)) for v in env.values()):
        raise OperationError('env must be an object of NAME: "value" pairs')
    problem = validate_health(description.get("healthCheck"), "healthCheck")
    if problem:
        raise OperationError(problem)
    lbs = description.get("loadBalancers") or []
    if not isinstance(lbs, list) or not all(isinstance(n, str) for n in lbs):
        raise OperationError('loadBalancers must be a list of load balancer names, e.g. ["shop-web"]')
    drain = description.get("drainSeconds")
    if drain is not None and (isinstance(drain, bool) or not isinstance(drain, (int, float)) or drain < 0):
        raise OperationError(f"drainSeconds must be a number of seconds >= 0 (got {drain!r})")
    check_weight(description)
    spec = {k: description[k] for k in _SPEC_KEYS if description.get(k) is not None}
    spec["command"] = [str(a) for a in command]
    spec["env"] = {
        str(k): ""
        if v is None
        else (v if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v))
        for k, v in env.items()
    }
    spec["loadBalancers"] = list(lbs)
    return spec


def _names(description: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    moniker: Mapping[str, Any] = (
        description["moniker"] if isinstance(description.get("moniker"), Mapping) else {}
    )
    app = description.get("application") or moniker.get("app")
    stack = description.get("stack") if description.get("stack") is not None else moniker.get("stack")
    detail = (
        description.get("freeFormDetails")
        if description.get("freeFormDetails") is not None
        else moniker.get("detail")
    )
    if not app:
        raise OperationError(
            "application is required (the server group is named application-stack-detail-vNNN)"
        )
    try:
        validate_parts(str(app), str(stack) if stack else None, str(detail) if detail else None)
    except InvalidName as exc:
        raise OperationError(str(exc)) from None
    return str(app), str(stack) if stack else None, str(detail) if detail else None


class ServerGroupOperations:
    """The server group operations of one account."""

    def __init__(self, runtime: LocalAccountRuntime) -> None:
        self.rt = runtime

    # -- create ----------------------------------------------------------------------------------

    def create(self, operation_id: str, description: Mapping[str, Any]) -> dict[str, Any]:
        """createServerGroup / cloneServerGroup: a new ``<cluster>-vNNN`` with its instances."""
        rt = self.rt
        group = rt.state.group_by_operation(operation_id)
        if group is None:
            group = self._reserve(operation_id, description)
        try:
            self._fill(group)
        except OperationError:
            self._remove_everything(group)
            raise
        return self.deployment_result(group)

    def _reserve(self, operation_id: str, description: Mapping[str, Any]) -> ServerGroup:
        rt = self.rt
        app, stack, detail = _names(description)
        cluster = cluster_name(app, stack, detail)
        spec = _validate_spec(description)
        capacity = _capacity(
            description.get("capacity")
            if description.get("capacity") is not None
            else {"min": 1, "max": 1, "desired": 1}
        )
        image_ref = description.get("imageId") or description.get("amiName") or description.get("imageName")
        if not image_ref:
            raise OperationError(
                "no image: give imageId, or put a bake (cloudProvider local) or findImage stage upstream"
            )
        image = rt.images.resolve(str(image_ref))
        if image is None:
            raise OperationError(
                f"image {image_ref!r} does not exist in account {rt.account.name}; bake it first"
            )
        for name in spec["loadBalancers"]:
            if rt.state.load_balancer(name) is None:
                raise OperationError(
                    f"load balancer {name!r} does not exist in account {rt.account.name}; "
                    "create it with an upsertLoadBalancer stage first"
                )
        if spec["loadBalancers"]:
            rt.traffic.apply(force=True)  # HAProxy missing or failing: fail before creating anything
        if rt.instances.free_ports(capacity["desired"]) < capacity["desired"]:
            low, high = rt.account.port_range
            raise OperationError(
                f"the port range {low}-{high} of account {rt.account.name} is exhausted "
                f"({capacity['desired']} instance(s) needed); widen port_range in [[providers.local.accounts]] "
                "or destroy unused server groups"
            )
        now = rt.clock.now_ms()
        for _ in range(5):
            existing = rt.state.groups(cluster=cluster)
            latest = max(existing, key=lambda g: (g.created_at, g.sequence)).name if existing else None
            try:
                sequence = next_sequence([g.name for g in existing], latest=latest)
            except ValueError as exc:
                raise OperationError(str(exc)) from None
            group = ServerGroup(
                account=rt.account.name,
                name=Moniker(app, stack, detail, cluster, sequence).to_name(),
                region=str(description.get("region") or rt.account.region),
                application=app,
                cluster=cluster,
                sequence=sequence,
                image_id=image.id,
                spec=spec,
                capacity=capacity,
                disabled=bool(description.get("startDisabled")),
                status=CREATING,
                operation_id=operation_id,
                created_at=now,
                updated_at=now,
            )
            try:
                with rt.db.transaction() as conn:
                    rt.state.insert_group(conn, group)
                return group
            except sa.exc.IntegrityError:
                found = rt.state.group_by_operation(operation_id)
                if found is not None:
                    return found
        raise OperationError(f"could not pick a free name in cluster {cluster}; try again")

    def _fill(self, group: ServerGroup) -> None:
        rt = self.rt
        image = rt.images.get(group.image_id)
        have = rt.state.instances(group.name)
        missing = group.capacity["desired"] - len(have)
        if missing > 0:
            have += rt.instances.add(group, missing)
        for instance in have:
            if instance.pid is None or instance.state == "pending":
                rt.instances.start(group, instance, image)
        rt.state.update_group(group.name, rt.clock.now_ms(), status=ACTIVE)
        group.status = ACTIVE
        if group.spec.get("loadBalancers"):
            rt.traffic.apply()

    def _remove_everything(self, group: ServerGroup) -> None:
        rt = self.rt
        rt.state.update_group(group.name, rt.clock.now_ms(), status=DESTROYING)
        for instance in rt.state.instances(group.name):
            rt.instances.remove(instance)
        rt.state.delete_group(group.name)
        if group.spec.get("loadBalancers"):
            rt.traffic.reconcile()

    def deployment_result(self, group: ServerGroup) -> dict[str, Any]:
        """Clouddriver's DeploymentResult for a created server group."""
        return {
            "serverGroupNames": [f"{group.region}:{group.name}"],
            "serverGroupNameByRegion": {group.region: group.name},
            "messages": [],
            "deployedNames": [],
            "deployedNamesByLocation": {},
            "createdArtifacts": [],
            "deployments": [
                {
                    "cloudProvider": "local",
                    "account": group.account,
                    "location": group.region,
                    "serverGroupName": group.name,
                    "capacity": dict(group.capacity),
                    "metadata": {},
                }
            ],
        }

    def source_description(self, name: str) -> dict[str, Any]:
        """What a clone copies from its source: image, command, env, checks, LBs, capacity."""
        group = self.get(name)
        moniker = Moniker.from_name(group.name)
        return {
            "application": moniker.app,
            "stack": moniker.stack or "",
            "freeFormDetails": moniker.detail or "",
            "imageId": group.image_id,
            "capacity": dict(group.capacity),
            **{k: v for k, v in group.spec.items()},
        }

    # -- the others ------------------------------------------------------------------------------

    def get(self, name: str) -> ServerGroup:
        """The server group, or OperationError naming it."""
        group = self.rt.state.group(name)
        if group is None or group.status == DESTROYING:
            raise OperationError(f"server group {name!r} does not exist in account {self.rt.account.name}")
        return group

    def resize(self, name: str, capacity: Mapping[str, Any]) -> dict[str, Any]:
        """Set the capacity; up starts instances, down drains and stops the newest first."""
        rt = self.rt
        group = self.get(name)
        merged = {
            **group.capacity,
            **{k: v for k, v in capacity.items() if k in ("min", "max", "desired") and v is not None},
        }
        wanted = _capacity(merged)
        rt.state.update_group(name, rt.clock.now_ms(), capacity=wanted)
        group.capacity = wanted
        have = rt.state.instances(name)
        if len(have) < wanted["desired"]:
            if rt.instances.free_ports(wanted["desired"] - len(have)) < wanted["desired"] - len(have):
                rt.state.update_group(
                    name, rt.clock.now_ms(), capacity=capacity_of({**wanted, "desired": len(have)})
                )
                low, high = rt.account.port_range
                raise OperationError(
                    f"the port range {low}-{high} of account {rt.account.name} is exhausted; widen port_range"
                )
            self._fill(group)
        elif len(have) > wanted["desired"]:
            doomed = sorted(have, key=lambda i: i.slot)[wanted["desired"] :]
            self._drain(group, [i.id for i in doomed], drain_s=self._drain_seconds(group, None))
            for instance in doomed:
                rt.instances.remove(instance)
            rt.traffic.reconcile()
        return {"serverGroupName": name, "capacity": wanted}

    def _drain_seconds(self, group: ServerGroup, requested: Any) -> float:
        for value in (requested, group.spec.get("drainSeconds")):
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
                return float(value)
        return self.rt.account.drain_seconds

    def _drain(self, group: ServerGroup, instance_ids: list[str], *, drain_s: float) -> None:
        """Take instances out of rotation: drain (no new connections), wait, then maint."""
        rt = self.rt
        lbs = [n for n in group.spec.get("loadBalancers") or [] if rt.state.load_balancer(n) is not None]
        now = rt.clock.now_ms()
        for instance_id in instance_ids:
            rt.state.update_instance(instance_id, now, traffic="drain")
        if lbs:
            rt.traffic.apply()
            rt.traffic.wait_drained(lbs, instance_ids, drain_s)
        for instance_id in instance_ids:
            rt.state.update_instance(instance_id, rt.clock.now_ms(), traffic="maint")
        if lbs:
            rt.traffic.apply()

    def disable(self, name: str, desired_percentage: Any = None, drain_seconds: Any = None) -> dict[str, Any]:
        """Take all (or ``desiredPercentage``%) instances out of rotation after draining them."""
        rt = self.rt
        group = self.get(name)
        instances = rt.state.instances(name)
        percentage = None if desired_percentage in (None, "") else float(desired_percentage)
        if percentage is None or percentage >= 100:
            chosen = [i.id for i in instances if i.traffic != "maint"]
            self._drain(group, chosen, drain_s=self._drain_seconds(group, drain_seconds))
            rt.state.update_group(name, rt.clock.now_ms(), disabled=True)
            return {"serverGroupName": name, "disabled": True, "instanceIdsToDisable": chosen}
        target = math.ceil(len(instances) * percentage / 100)
        out = [i for i in instances if i.traffic == "maint"]
        more = [i.id for i in sorted(instances, key=lambda i: i.slot) if i.traffic != "maint"][
            : max(0, target - len(out))
        ]
        self._drain(group, more, drain_s=self._drain_seconds(group, drain_seconds))
        return {
            "serverGroupName": name,
            "disabled": False,
            "instanceIdsToDisable": [*(i.id for i in out), *more],
            "discoverySkippedInstanceIds": [],
        }

    def enable(self, name: str) -> dict[str, Any]:
        """Put every instance back in rotation."""
        rt = self.rt
        group = self.get(name)
        now = rt.clock.now_ms()
        for instance in rt.state.instances(name):
            rt.state.update_instance(instance.id, now, traffic="ready")
        rt.state.update_group(name, now, disabled=False)
        if group.spec.get("loadBalancers"):
            rt.traffic.apply()
        return {"serverGroupName": name, "disabled": False}

    def destroy(self, name: str) -> dict[str, Any]:
        """Drain, stop (SIGTERM, grace, SIGKILL) and delete every instance, then the server group.
        Destroying one that is already gone succeeds (the operation may be a rerun)."""
        rt = self.rt
        group = rt.state.group(name)
        if group is None:
            return {"serverGroupName": name, "destroyed": True}
        if group.status != DESTROYING:
            live = [i.id for i in rt.state.instances(name) if i.traffic != "maint"]
            if live:
                self._drain(group, live, drain_s=self._drain_seconds(group, None))
            rt.state.update_group(name, rt.clock.now_ms(), status=DESTROYING)
        outcomes = {i.id: rt.instances.remove(i) for i in rt.state.instances(name)}
        rt.state.delete_group(name)
        if group.spec.get("loadBalancers"):
            rt.traffic.reconcile()
        return {"serverGroupName": name, "destroyed": True, "instances": outcomes}
