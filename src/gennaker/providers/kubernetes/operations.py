"""The manifest operations other than deploy (Clouddriver's Kubernetes*ManifestOperation):
delete, scale, patch, undo rollout, rolling restart, enable and disable."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from gennaker.providers.kubernetes.binding import bind
from gennaker.providers.kubernetes.deploy import Deployer, _artifacts
from gennaker.providers.kubernetes.kubectl import Kubectl, KubectlError
from gennaker.providers.kubernetes.manifest import load_balancers, metadata, resource_name, split_name
from gennaker.providers.kubernetes.settings import KubernetesAccount
from gennaker.providers.protocol import OperationError


def _result(
    namespace: str, names: list[str], manifests: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "manifestNamesByNamespace": {namespace: names},
        "manifests": manifests or [],
        "createdArtifacts": [],
        "boundArtifacts": [],
    }


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


class ManifestOperations:
    """The operations on existing resources of one account."""

    def __init__(self, kubectl: Kubectl, account: KubernetesAccount) -> None:
        self.kubectl = kubectl
        self.account = account

    def target(self, d: Mapping[str, Any]) -> tuple[str, str, str]:
        """(kind, name, namespace) of ``manifestName`` + ``location``; OperationError when bad."""
        full = d.get("manifestName")
        if not isinstance(full, str) or not full:
            raise OperationError("manifestName is required ('<kind> <name>', e.g. 'deployment web')")
        try:
            kind, name = split_name(full)
        except ValueError as exc:
            raise OperationError(str(exc)) from None
        namespace = str(d.get("location") or "default")
        if not self.account.allows_namespace(namespace):
            raise OperationError(
                f"account '{self.account.name}' is not allowed to touch namespace '{namespace}'"
            )
        return kind, name, namespace

    def delete(self, d: Mapping[str, Any]) -> dict[str, Any]:
        options = _mapping(d.get("options"))
        flags = ["--ignore-not-found", "--wait=false"]
        cascading = options.get("cascading")
        if options.get("orphanDependants") is True or cascading is False:
            flags.append("--cascade=false")
        grace = options.get("gracePeriodSeconds")
        if isinstance(grace, int) and not isinstance(grace, bool):
            flags.append(f"--grace-period={grace}")
        selectors = _selector(d.get("labelSelectors"))
        if selectors:
            namespace = str(d.get("location") or "default")
            if not self.account.allows_namespace(namespace):
                raise OperationError(
                    f"account '{self.account.name}' is not allowed to touch namespace '{namespace}'"
                )
            kinds = [str(k) for k in d.get("kinds") or [] if k]
            if not kinds:
                raise OperationError("kinds is required when deleting by labelSelectors")
            found = self.kubectl.list(",".join(kinds), namespace, selectors)
            names = [resource_name(m) for m in found]
            if found:
                self.kubectl.run(["delete", ",".join(kinds), "-n", namespace, "-l", selectors, *flags])
            return _result(namespace, names)
        kind, name, namespace = self.target(d)
        self.kubectl.run(["delete", kind, name, "-n", namespace, *flags])
        return _result(namespace, [f"{kind} {name}"])

    def scale(self, d: Mapping[str, Any]) -> dict[str, Any]:
        kind, name, namespace = self.target(d)
        replicas = d.get("replicas")
        if isinstance(replicas, str) and replicas.isdigit():
            replicas = int(replicas)
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            raise OperationError(f"replicas must be a whole number >= 0 (got {replicas!r})")
        self.kubectl.run(["scale", kind, name, "-n", namespace, f"--replicas={replicas}"])
        return _result(namespace, [f"{kind} {name}"])

    def patch(self, d: Mapping[str, Any]) -> dict[str, Any]:
        kind, name, namespace = self.target(d)
        options = _mapping(d.get("options"))
        strategy = str(options.get("mergeStrategy") or "strategic").lower()
        if strategy not in ("strategic", "json", "merge"):
            raise OperationError(f"options.mergeStrategy must be strategic, json or merge (got {strategy!r})")
        body = d.get("patchBody")
        if isinstance(body, list) and strategy != "json" and len(body) == 1:
            body = body[0]
        if strategy == "json" and not isinstance(body, list):
            raise OperationError(
                "patchBody must be a list of JSON patch operations when mergeStrategy is json"
            )
        if strategy != "json" and not isinstance(body, Mapping):
            raise OperationError(f"patchBody must be exactly one object when mergeStrategy is {strategy}")
        bound: list[dict[str, Any]] = []
        required = _artifacts(d.get("requiredArtifacts"))
        if isinstance(body, Mapping) and (required or d.get("allArtifacts")):
            wrapper = {"kind": kind[:1].upper() + kind[1:], **body}
            bound = bind(wrapper, [*required, *_artifacts(d.get("allArtifacts"))])
            body = {k: v for k, v in wrapper.items() if k != "kind" or "kind" in body}
        args = ["patch", kind, name, "-n", namespace, f"--type={strategy}", "-p", json.dumps(body)]
        if options.get("record", True) is True:
            args.append("--record")
        patched = self.kubectl.json(args)
        result = _result(namespace, [f"{kind} {name}"], [patched] if isinstance(patched, dict) else [])
        result["boundArtifacts"] = bound
        return result

    def undo(self, d: Mapping[str, Any]) -> dict[str, Any]:
        kind, name, namespace = self.target(d)
        revision = d.get("revision")
        if revision in (None, ""):
            back = d.get("numRevisionsBack")
            back = int(back) if isinstance(back, int | str) and str(back).isdigit() else 1
            revisions = self._revisions(kind, name, namespace)
            if len(revisions) <= back:
                raise OperationError(f"{kind} {name} has {len(revisions)} revision(s); cannot go {back} back")
            revision = revisions[-1 - back]
        self.kubectl.run(["rollout", "undo", f"{kind}/{name}", "-n", namespace, f"--to-revision={revision}"])
        return _result(namespace, [f"{kind} {name}"])

    def _revisions(self, kind: str, name: str, namespace: str) -> list[int]:
        live = self.kubectl.get(kind, name, namespace)
        if live is None:
            raise OperationError(f"{kind} {name} does not exist in {namespace}")
        uid = metadata(live).get("uid")
        revisions = []
        for rs in self.kubectl.list("replicaset", namespace):
            owners = metadata(rs).get("ownerReferences") or []
            if any(o.get("uid") == uid for o in owners):
                rev = (metadata(rs).get("annotations") or {}).get("deployment.kubernetes.io/revision")
                if rev and str(rev).isdigit():
                    revisions.append(int(rev))
        return sorted(revisions)

    def rolling_restart(self, d: Mapping[str, Any]) -> dict[str, Any]:
        kind, name, namespace = self.target(d)
        self.kubectl.run(["rollout", "restart", f"{kind}/{name}", "-n", namespace])
        return _result(namespace, [f"{kind} {name}"])

    def set_traffic(self, d: Mapping[str, Any], *, enable: bool) -> dict[str, Any]:
        """Add (enable) or remove (disable) the load balancers' selector labels on the workload's
        pod template and on each of its pods (``targetPercentage`` of them)."""
        kind, name, namespace = self.target(d)
        live = self.kubectl.get(kind, name, namespace)
        if live is None:
            raise OperationError(f"{kind} {name} does not exist in {namespace}")
        lbs = [str(x) for x in d.get("loadBalancers") or []]
        if not lbs:
            try:
                lbs = load_balancers(live)
            except ValueError as exc:
                raise OperationError(str(exc)) from None
        if not lbs:
            raise OperationError(
                f"{kind} {name} has no load balancers (annotation traffic.spinnaker.io/load-balancers) to "
                f"{'enable' if enable else 'disable'}"
            )
        deployer = Deployer(self.kubectl, self.account)
        wanted: dict[str, str] = {}
        for lb in lbs:
            wanted.update(deployer.selector(lb, namespace))
        template_labels = ((live.get("spec") or {}).get("template") or {}).get("metadata", {}).get(
            "labels"
        ) or {}
        ops = _label_ops("/spec/template/metadata/labels", template_labels, wanted, enable)
        if ops:
            self.kubectl.run(["patch", kind, name, "-n", namespace, "--type=json", "-p", json.dumps(ops)])
        pods = self.pods_of(live)
        pct = d.get("targetPercentage")
        count = len(pods) if not isinstance(pct, int | float) else math.ceil(len(pods) * float(pct) / 100)
        for pod in pods[:count]:
            pod_ops = _label_ops("/metadata/labels", metadata(pod).get("labels") or {}, wanted, enable)
            if pod_ops:
                try:
                    self.kubectl.run(
                        [
                            "patch",
                            "pod",
                            str(metadata(pod)["name"]),
                            "-n",
                            namespace,
                            "--type=json",
                            "-p",
                            json.dumps(pod_ops),
                        ]
                    )
                except KubectlError as exc:
                    if not exc.not_found:
                        raise
        return _result(namespace, [f"{kind} {name}"])

    def pods_of(self, workload: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The pods a workload owns (by owner reference)."""
        meta = metadata(workload)
        uid = meta.get("uid")
        namespace = str(meta.get("namespace") or "default")
        pods = self.kubectl.list("pod", namespace)
        return [p for p in pods if any(o.get("uid") == uid for o in metadata(p).get("ownerReferences") or [])]


def _label_ops(
    path: str, current: Mapping[str, str], wanted: Mapping[str, str], enable: bool
) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []
    if enable and not current:
        return [{"op": "add", "path": path, "value": dict(wanted)}]
    for key, value in wanted.items():
        if enable and current.get(key) != value:
            ops.append({"op": "add", "path": f"{path}/{_escape(key)}", "value": value})
        elif not enable and key in current:
            ops.append({"op": "remove", "path": f"{path}/{_escape(key)}"})
    return ops


def _selector(raw: Any) -> str:
    """Orca's ``labelSelectors: {selectors: [{kind, key, values}]}`` as a kubectl ``-l`` string."""
    if not isinstance(raw, Mapping):
        return ""
    parts = []
    for sel in raw.get("selectors") or []:
        if not isinstance(sel, Mapping) or not sel.get("key"):
            continue
        key, values = str(sel["key"]), [str(v) for v in sel.get("values") or []]
        kind = str(sel.get("kind") or "EQUALS").upper()
        if kind == "EQUALS":
            parts.append(f"{key}={values[0] if values else ''}")
        elif kind == "NOT_EQUALS":
            parts.append(f"{key}!={values[0] if values else ''}")
        elif kind == "CONTAINS":
            parts.append(f"{key} in ({','.join(values)})")
        elif kind == "NOT_CONTAINS":
            parts.append(f"{key} notin ({','.join(values)})")
        elif kind == "EXISTS":
            parts.append(key)
        elif kind == "NOT_EXISTS":
            parts.append(f"!{key}")
    return ",".join(parts)
