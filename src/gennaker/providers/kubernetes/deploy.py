"""``deployManifest`` (Clouddriver's KubernetesDeployManifestOperation): namespaces, artifact
binding, versioning with reuse of an identical prior version, moniker/artifact annotations,
traffic, a server-side dry run of everything, then apply / server-side apply / replace / recreate,
and the ``max-version-history`` clean-up.

Every step is resumable: a retried operation (same id, after a crash) finds the version it had
created by its content hash and reuses it, so it never creates a second version.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from gennaker.providers.kubernetes.binding import artifact_key, bind
from gennaker.providers.kubernetes.kubectl import Kubectl, KubectlError
from gennaker.providers.kubernetes.manifest import (
    CLUSTER_SCOPED,
    CONTENT_HASH,
    LOAD_BALANCERS,
    Manifest,
    annotate,
    artifact_of,
    is_versioned,
    load_balancers,
    metadata,
    notes_of,
    pod_template,
    priority,
    redacted,
    resource_name,
    spinnaker_kind,
    strategy,
    version_of,
)
from gennaker.providers.kubernetes.settings import KubernetesAccount
from gennaker.providers.protocol import OperationError

UNBOUND = (
    "The following required artifacts could not be bound: '{}'. Check that the Docker image name above "
    "matches the name used in the image field of your manifest. Failing the stage as this is likely a "
    "configuration error."
)


def validate(manifests: Any, account: KubernetesAccount, namespace_override: str | None) -> list[Manifest]:
    """Copies of the manifests with their namespaces set; OperationError naming the bad one."""
    if not isinstance(manifests, list) or not manifests:
        raise OperationError("manifests: at least one manifest is required")
    result: list[Manifest] = []
    for index, raw in enumerate(manifests):
        where = f"manifests[{index}]"
        if isinstance(raw, Mapping) and raw.get("kind") == "List" and isinstance(raw.get("items"), list):
            result.extend(validate(raw["items"], account, namespace_override))
            continue
        if not isinstance(raw, Mapping):
            raise OperationError(f"{where}: a manifest must be an object, got {type(raw).__name__}")
        manifest = copy.deepcopy(dict(raw))
        for key in ("apiVersion", "kind"):
            if not isinstance(manifest.get(key), str) or not manifest[key]:
                raise OperationError(f"{where}: '{key}' is required")
        if not account.allows_kind(str(manifest["kind"])):
            raise OperationError(
                f"{where}: kind {manifest['kind']} is not allowed by account '{account.name}' (kinds / omitKinds)"
            )
        meta = manifest.get("metadata")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
            raise OperationError(f"{where} ({manifest['kind']}): metadata.name is required")
        if str(manifest["kind"]).lower() not in CLUSTER_SCOPED:
            namespace = namespace_override or meta.get("namespace") or "default"
            if not account.allows_namespace(str(namespace)):
                raise OperationError(
                    f"{where} ({resource_name(manifest)}): account '{account.name}' is not allowed to deploy "
                    f"to namespace '{namespace}'"
                )
            meta["namespace"] = str(namespace)
        result.append(manifest)
    return result


def content_hash(manifest: Mapping[str, Any]) -> str:
    """What identifies a version's content: the manifest before naming and annotating."""
    body = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def _artifacts(items: Any) -> list[dict[str, Any]]:
    """Artifacts from a list of artifacts or of ``{expectedArtifactId, artifact}``."""
    found: list[dict[str, Any]] = []
    for item in items or []:
        if isinstance(item, Mapping) and isinstance(item.get("artifact"), Mapping):
            item = item["artifact"]
        elif isinstance(item, Mapping) and isinstance(item.get("boundArtifact"), Mapping):
            item = item["boundArtifact"]
        if isinstance(item, Mapping) and item.get("type"):
            found.append(dict(item))
    return found


class Deployer:
    """One deployManifest against one account."""

    def __init__(self, kubectl: Kubectl, account: KubernetesAccount) -> None:
        self.kubectl = kubectl
        self.account = account

    def deploy(self, description: Mapping[str, Any]) -> dict[str, Any]:
        override = description.get("namespaceOverride") or None
        manifests = sorted(validate(description.get("manifests"), self.account, override), key=priority)
        required = _artifacts(description.get("requiredArtifacts"))
        optional = _artifacts(description.get("optionalArtifacts"))
        raw_moniker = description.get("moniker")
        moniker_in: Mapping[str, Any] = raw_moniker if isinstance(raw_moniker, Mapping) else {}
        app = (moniker_in or {}).get("app") or description.get("application") or description.get("app")
        traffic_services = [str(s) for s in description.get("services") or []]
        enable_traffic = description.get("enableTraffic", True) is not False
        versioned_default = description.get("versioned")
        versioned_default = versioned_default if isinstance(versioned_default, bool) else None

        prepared: list[Manifest] = []
        created: list[dict[str, Any]] = []
        bound: dict[str, dict[str, Any]] = {}
        for manifest in manifests:
            usable = [*required, *optional, *created]
            for artifact in bind(manifest, usable):
                bound.setdefault(artifact_key(artifact), artifact)
            self._traffic(manifest, traffic_services, enable_traffic)
            history = strategy(manifest, "max-version-history")
            if (
                description.get("strategy") in ("redblack", "bluegreen")
                and history is not None
                and history.isdigit()
                and int(history) < 2
            ):
                raise OperationError(
                    f"{resource_name(manifest)}: the max version history specified in your manifest conflicts "
                    "with the behavior of the Red/Black rollout strategy; set the "
                    "strategy.spinnaker.io/max-version-history annotation to 2 or more"
                )
            versioned = is_versioned(manifest, versioned_default)
            meta = metadata(manifest)
            base = str(meta["name"])
            sequence: int | None = None
            if versioned:
                versions = self._versions(
                    str(manifest["kind"]), str(meta.get("namespace") or "default"), base
                )
                if (strategy(manifest, "use-source-capacity") or "").lower() == "true" and versions:
                    latest = versions[max(versions)]
                    replicas = (latest.get("spec") or {}).get("replicas")
                    if isinstance(replicas, int) and isinstance(manifest.get("spec"), dict):
                        manifest["spec"]["replicas"] = replicas
                digest = content_hash(manifest)
                sequence = next(
                    (
                        n
                        for n, item in sorted(versions.items(), reverse=True)
                        if (metadata(item).get("annotations") or {}).get(CONTENT_HASH) == digest
                    ),
                    max(versions) + 1 if versions else 0,
                )
                meta["name"] = f"{base}-v{sequence:03d}"
            else:
                digest = content_hash(manifest)
            notes_of(manifest)[CONTENT_HASH] = digest
            artifact = artifact_of(manifest)
            moniker = {
                "app": app or base,
                "cluster": (moniker_in or {}).get("cluster")
                or f"{spinnaker_kind(str(manifest['kind']))} {base}",
                "stack": (moniker_in or {}).get("stack"),
                "detail": (moniker_in or {}).get("detail"),
                "sequence": sequence,
            }
            annotate(manifest, moniker, artifact)
            prepared.append(manifest)
            created.append(artifact)

        unbound = [a for a in required if artifact_key(a) not in bound]
        if unbound:
            raise OperationError(UNBOUND.format(", ".join(artifact_key(a) for a in unbound)))

        for manifest in prepared:  # nothing is applied unless the API server accepts every one
            self._apply(manifest, dry_run=True)
        applied = [self._apply(manifest, dry_run=False) for manifest in prepared]
        for manifest in prepared:
            self._clean_history(manifest)

        by_namespace: dict[str, list[str]] = {}
        for manifest in applied:
            by_namespace.setdefault(str(metadata(manifest).get("namespace") or ""), []).append(
                resource_name(manifest)
            )
        return {
            "manifestNamesByNamespace": by_namespace,
            "manifests": [redacted(m) for m in applied],
            "createdArtifacts": created,
            "boundArtifacts": list(bound.values()),
        }

    # -- steps -------------------------------------------------------------------------------------

    def _traffic(self, manifest: Manifest, services: Sequence[str], enable: bool) -> None:
        try:
            current = load_balancers(manifest)
        except ValueError as exc:
            raise OperationError(f"{resource_name(manifest)}: {exc}") from None
        if services:
            if current and sorted(current) != sorted(services):
                raise OperationError(
                    f"{resource_name(manifest)}: annotation {LOAD_BALANCERS} {current} differs from the "
                    f"services of trafficManagement {list(services)}"
                )
            if str(manifest.get("kind", "")).lower() in ("replicaset",):
                notes_of(manifest)[LOAD_BALANCERS] = json.dumps(list(services))
                current = list(services)
        if not current or not enable:
            return
        template = pod_template(manifest)
        if template is None:
            return
        pod_labels = template.setdefault("metadata", {}).setdefault("labels", {})
        for lb in current:
            for key, value in self.selector(
                lb, str(metadata(manifest).get("namespace") or "default")
            ).items():
                pod_labels[key] = value

    def selector(self, load_balancer: str, namespace: str) -> dict[str, str]:
        """The selector of a ``"service name"`` load balancer (which must exist)."""
        kind, _, name = load_balancer.partition(" ")
        if kind.lower() != "service" or not name:
            raise OperationError(
                f"load balancer {load_balancer!r} must be 'service <name>' (only Services route traffic)"
            )
        service = self.kubectl.get("service", name, namespace)
        if service is None:
            raise OperationError(f"load balancer {load_balancer!r} does not exist in namespace {namespace}")
        selector = (service.get("spec") or {}).get("selector")
        if not isinstance(selector, dict) or not selector:
            raise OperationError(f"load balancer {load_balancer!r} has no selector to route traffic with")
        return {str(k): str(v) for k, v in selector.items()}

    def _versions(self, kind: str, namespace: str, base: str) -> dict[int, dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        for item in self.kubectl.list(kind, namespace):
            parsed = version_of(str(metadata(item).get("name", "")))
            if parsed and parsed[0] == base:
                found[parsed[1]] = item
        return found

    def _apply(self, manifest: Manifest, *, dry_run: bool) -> Manifest:
        body = json.dumps(manifest)
        name = resource_name(manifest)
        namespace = metadata(manifest).get("namespace")
        ns = ["-n", str(namespace)] if namespace else []
        dry = ["--dry-run=server"] if dry_run else []
        ssa = (strategy(manifest, "server-side-apply") or "false").lower()
        try:
            if (strategy(manifest, "recreate") or "").lower() == "true":
                if dry_run:
                    return (
                        self.kubectl.json(["create", "-f", "-", *dry, *ns], body)
                        if self._absent(manifest)
                        else manifest
                    )
                self.kubectl.run(
                    [
                        "delete",
                        str(manifest["kind"]),
                        str(metadata(manifest)["name"]),
                        *ns,
                        "--ignore-not-found",
                        "--wait=true",
                    ]
                )
                return dict(self.kubectl.json(["create", "-f", "-", *ns], body))
            if (strategy(manifest, "replace") or "").lower() == "true":
                if self._absent(manifest):
                    return dict(self.kubectl.json(["create", "-f", "-", *dry, *ns], body))
                return dict(self.kubectl.json(["replace", "-f", "-", *dry, *ns], body))
            args = ["apply", "-f", "-", *dry, *ns]
            if ssa in ("true", "force-conflicts"):
                args += ["--server-side=true", "--field-manager=gennaker"]
                if ssa == "force-conflicts":
                    args.append("--force-conflicts")
            return dict(self.kubectl.json(args, body))
        except KubectlError as exc:
            phase = "was refused by the API server (nothing was applied)" if dry_run else "failed"
            raise type(exc)(f"{name} in {namespace or 'the cluster'} {phase}: {exc}") from None

    def _absent(self, manifest: Manifest) -> bool:
        meta = metadata(manifest)
        return self.kubectl.get(str(manifest["kind"]), str(meta["name"]), meta.get("namespace")) is None

    def _clean_history(self, manifest: Manifest) -> None:
        limit = strategy(manifest, "max-version-history")
        if limit is None or not limit.isdigit():
            return
        meta = metadata(manifest)
        parsed = version_of(str(meta["name"]))
        if parsed is None:
            return
        versions = self._versions(str(manifest["kind"]), str(meta.get("namespace") or "default"), parsed[0])
        for number in sorted(versions, reverse=True)[int(limit) :]:
            if number == parsed[1]:
                continue
            self.kubectl.run(
                [
                    "delete",
                    str(manifest["kind"]),
                    f"{parsed[0]}-v{number:03d}",
                    "-n",
                    str(meta.get("namespace")),
                    "--ignore-not-found",
                ]
            )
