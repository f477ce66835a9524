"""The ``kubernetes`` cloud provider: accounts (kubeconfig contexts), the manifest operations,
live manifest reads (with Clouddriver's stability status), and the read model for the caching
agent, with a back-off for a cluster that does not answer."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gennaker.clock import Clock
from gennaker.config import ConfigError
from gennaker.providers.kubernetes.deploy import Deployer
from gennaker.providers.kubernetes.kubectl import ClusterUnreachable, Kubectl, KubectlError
from gennaker.providers.kubernetes.manifest import (
    artifact_of,
    metadata,
    moniker_of,
    pod_specs,
    redacted,
    resource_name,
    spinnaker_kind,
)
from gennaker.providers.kubernetes.operations import ManifestOperations
from gennaker.providers.kubernetes.settings import KubernetesAccount, KubernetesSettings
from gennaker.providers.kubernetes.status import manifest_status
from gennaker.providers.kubernetes.views import CACHED_KINDS, created_ms, records
from gennaker.providers.protocol import (
    ACCOUNT_HEALTH,
    CLOUD_WAITS,
    Account,
    Agent,
    CacheRecord,
    OperationError,
    OperationRequest,
    ProviderUnavailable,
    RefreshDeferred,
)

OPERATIONS = frozenset(
    {
        "deployManifest",
        "deleteManifest",
        "scaleManifest",
        "patchManifest",
        "undoRolloutManifest",
        "rollingRestartManifest",
        "enableManifest",
        "disableManifest",
    }
)
#: What Deck's kubernetes module reads to place kinds (Clouddriver's KubernetesSpinnakerKindMap).
SPINNAKER_KIND_MAP = {
    "deployment": "serverGroupManagers",
    "replicaSet": "serverGroups",
    "statefulSet": "serverGroups",
    "daemonSet": "serverGroups",
    "pod": "instances",
    "service": "loadBalancers",
    "ingress": "loadBalancers",
    "networkPolicy": "securityGroups",
    "configMap": "configs",
    "secret": "configs",
    "job": "serverGroups",
}
CRITERIA = ("newest", "second_newest", "oldest", "largest", "smallest")
#: Back-off of the caching agent for an unreachable cluster: 5 s, doubling, capped.
BACKOFF_START_MS, BACKOFF_MAX_MS = 5_000, 120_000


class KubernetesProvider:
    """Implements CloudProvider for Kubernetes clusters through kubectl."""

    id = "kubernetes"
    health_provider_name = "KubernetesPod"
    #: Orca's waits: the manifest stages poll on their own, cluster stages keep Orca's defaults.
    waits = CLOUD_WAITS

    def __init__(self, clock: Clock, settings: KubernetesSettings, *, check: bool = True) -> None:
        self.clock = clock
        self.settings = settings
        self.accounts_by_name = {a.name: a for a in settings.accounts}
        self.kubectls = {a.name: Kubectl(settings.kubectl, a) for a in settings.accounts}
        self._lock = threading.Lock()
        #: account -> (error, consecutive failures, next attempt ms); absent when healthy.
        self._down: dict[str, tuple[str, int, int]] = {}
        self._seen_namespaces: dict[str, tuple[str, ...]] = {}
        if check:
            for account in settings.accounts:
                self._check(account)

    def _check(self, account: KubernetesAccount) -> None:
        where = f"providers.kubernetes.accounts[{account.name}]"
        kubectl = self.kubectls[account.name]
        if settings_kubectl_missing(kubectl):
            raise ConfigError(
                f"{where}: kubectl not found ({self.settings.kubectl!r}); install it or set providers.kubernetes.kubectl"
            )
        if account.kubeconfig is not None and not Path(account.kubeconfig).expanduser().is_file():
            raise ConfigError(f"{where}: kubeconfig file {account.kubeconfig} does not exist")
        try:
            contexts = kubectl.run(["config", "get-contexts", "-o", "name"]).split()
        except KubectlError as exc:
            raise ConfigError(f"{where}: cannot read the kubeconfig: {exc}") from None
        if account.context and account.context not in contexts:
            raise ConfigError(
                f"{where}: context {account.context!r} is not in the kubeconfig (it has: {', '.join(contexts) or 'none'})"
            )
        if not account.context and not contexts:
            raise ConfigError(f"{where}: the kubeconfig has no contexts")

    # -- accounts --------------------------------------------------------------------------------

    def account(self, name: str) -> KubernetesAccount:
        found = self.accounts_by_name.get(name)
        if found is None:
            raise OperationError(
                f"account {name!r} is not a kubernetes account (there are: {', '.join(self.accounts_by_name) or 'none'})"
            )
        return found

    def health(self, name: str) -> dict[str, Any]:
        """``{state: UP|DOWN, error?}`` of the account's cluster as the caching agent last saw it."""
        with self._lock:
            down = self._down.get(name)
        return {"state": "DOWN", "error": down[0]} if down else {"state": "UP"}

    def accounts(self) -> Sequence[Account]:
        """The configured accounts; namespaces are their regions."""
        result = []
        for account in self.accounts_by_name.values():
            namespaces = account.namespaces or self._seen_namespaces.get(account.name, ())
            health = self.health(account.name)
            result.append(
                Account(
                    name=account.name,
                    cloud_provider=self.id,
                    regions=tuple(namespaces),
                    environment=account.environment,
                    account_type=account.name,
                    details={
                        "namespaces": list(account.namespaces),
                        "omitNamespaces": list(account.omit_namespaces),
                        "kinds": list(account.kinds),
                        "omitKinds": list(account.omit_kinds),
                        "onlySpinnakerManaged": account.only_spinnaker_managed,
                        "context": account.context,
                        "permissions": {k: list(v) for k, v in account.permissions.items()},
                        "providerVersion": "v2",
                        "spinnakerKindMap": SPINNAKER_KIND_MAP,
                        "health": health,
                        "healthy": health["state"] == "UP",
                    },
                )
            )
        return result

    # -- operations ------------------------------------------------------------------------------

    def operations(self) -> frozenset[str]:
        """Operation names this provider runs."""
        return OPERATIONS

    async def run(self, request: OperationRequest) -> dict[str, Any]:
        """Run one operation in a thread (kubectl blocks)."""
        if request.name not in OPERATIONS:
            raise OperationError(f"the kubernetes provider has no operation {request.name!r}")
        return await asyncio.to_thread(self._run, request)

    def _run(self, request: OperationRequest) -> dict[str, Any]:
        account = self.account(request.account)
        kubectl = self.kubectls[account.name]
        d = request.description
        if request.name == "deployManifest":
            return Deployer(kubectl, account).deploy(d)
        ops = ManifestOperations(kubectl, account)
        if request.name == "deleteManifest":
            return ops.delete(d)
        if request.name == "scaleManifest":
            return ops.scale(d)
        if request.name == "patchManifest":
            return ops.patch(d)
        if request.name == "undoRolloutManifest":
            return ops.undo(d)
        if request.name == "rollingRestartManifest":
            return ops.rolling_restart(d)
        return ops.set_traffic(d, enable=request.name == "enableManifest")

    # -- live reads ------------------------------------------------------------------------------

    def manifest(
        self, account: str, location: str, name: str, *, events: bool = False
    ) -> dict[str, Any] | None:
        """Clouddriver's KubernetesManifest view of one live resource, or None when absent
        (``events``: with the resource's events, as Deck's details pane shows them)."""
        acct = self.account(account)
        try:
            kind, plain = name.strip().split(" ", 1)
        except ValueError:
            raise OperationError(f"manifest name {name!r} must be '<kind> <name>'") from None
        namespace = location or None
        live = self.kubectls[acct.name].get(kind, plain.strip(), namespace)
        if live is None:
            return None
        view = self.manifest_view(acct.name, live)
        if events:
            view["events"] = self._events(acct.name, live)
        return view

    def _events(self, account: str, live: Mapping[str, Any]) -> list[dict[str, Any]]:
        meta = metadata(live)
        if not meta.get("uid"):
            return []
        found = self.kubectls[account].json(
            [
                "get",
                "events",
                *(["-n", str(meta["namespace"])] if meta.get("namespace") else ["--all-namespaces"]),
                "--field-selector",
                f"involvedObject.uid={meta['uid']}",
            ]
        )
        items = found.get("items") if isinstance(found, dict) else None
        return [i for i in items or [] if isinstance(i, dict)]

    def manifest_view(self, account: str, live: Mapping[str, Any]) -> dict[str, Any]:
        meta = metadata(live)
        moniker = moniker_of(live)
        moniker.setdefault("cluster", resource_name(live))
        return {
            "account": account,
            "name": resource_name(live),
            "location": meta.get("namespace") or "",
            "moniker": moniker,
            "manifest": redacted(live),
            "status": manifest_status(live),
            "artifacts": artifacts_in(live),
            "events": [],
            "metrics": [],
            "warnings": [],
        }

    def cluster_manifests(
        self, account: str, location: str, kind: str, app: str, cluster: str
    ) -> list[dict[str, Any]]:
        """Live resources of ``kind`` in ``location`` whose moniker is (app, cluster)."""
        acct = self.account(account)
        found = []
        for item in self.kubectls[acct.name].list(kind, location):
            moniker = moniker_of(item)
            if moniker.get("cluster") == cluster and moniker.get("app", app) == app:
                found.append(self.manifest_view(acct.name, item))
        return found

    def dynamic_target(
        self, account: str, location: str, kind: str, app: str, cluster: str, criteria: str
    ) -> dict[str, Any] | None:
        """The manifest of the cluster the criteria pick (newest, second_newest, oldest, largest, smallest)."""
        if criteria not in CRITERIA:
            raise OperationError(f"criteria must be one of {', '.join(CRITERIA)} (got {criteria!r})")
        candidates = self.cluster_manifests(account, location, kind, app, cluster)
        if criteria in ("largest", "smallest"):
            candidates.sort(key=lambda m: int((m["manifest"].get("spec") or {}).get("replicas") or 0))
            pick = (
                candidates[-1]
                if criteria == "largest" and candidates
                else (candidates[0] if candidates else None)
            )
            return pick
        # Creation times have one-second resolution: the version sequence breaks ties.
        candidates.sort(
            key=lambda m: (created_ms(m["manifest"]) or 0, m["moniker"].get("sequence") or 0, m["name"]),
            reverse=True,
        )
        index = {"newest": 0, "second_newest": 1, "oldest": len(candidates) - 1}[criteria]
        return candidates[index] if 0 <= index < len(candidates) else None

    # -- read model --------------------------------------------------------------------------------

    async def refresh(self, account: str) -> Sequence[CacheRecord]:
        """The read model of one account; RefreshDeferred while an unreachable cluster backs off."""
        return await asyncio.to_thread(self._refresh, account)

    def _refresh(self, name: str) -> list[CacheRecord]:
        acct = self.account(name)
        now = self.clock.now_ms()
        with self._lock:
            down = self._down.get(name)
        if down is not None and now < down[2]:
            raise RefreshDeferred(f"account {name}: waiting before retrying the cluster ({down[0]})")
        kubectl = self.kubectls[name]
        kinds = [k for k in (acct.kinds or CACHED_KINDS) if acct.allows_kind(k)]
        try:
            items: list[dict[str, Any]] = []
            if acct.namespaces:
                for namespace in acct.namespaces:
                    items.extend(kubectl.list(",".join(kinds), namespace))
                namespaces = tuple(acct.namespaces)
            else:
                items = [
                    i
                    for i in kubectl.list(",".join(kinds), None)
                    if acct.allows_namespace(str(metadata(i).get("namespace") or ""))
                ]
                namespaces = tuple(
                    sorted(
                        str(metadata(n).get("name"))
                        for n in kubectl.json(["get", "namespaces"]).get("items", [])
                        if acct.allows_namespace(str(metadata(n).get("name")))
                    )
                )
        except ClusterUnreachable as exc:
            with self._lock:
                failures = (down[1] if down else 0) + 1
                wait = min(BACKOFF_START_MS * 2 ** (failures - 1), BACKOFF_MAX_MS)
                self._down[name] = (str(exc), failures, now + wait)
            raise ProviderUnavailable(str(exc)) from None
        with self._lock:
            self._down.pop(name, None)
            self._seen_namespaces[name] = namespaces
        health = {"account": name, "state": "UP", "regions": list(namespaces)}
        return [
            *records(name, items, acct.only_spinnaker_managed),
            CacheRecord(ACCOUNT_HEALTH, name, "", name, None, health),
        ]

    def agents(self) -> Sequence[Agent]:
        """None of its own (the framework adds a caching agent per account)."""
        return []

    def console_output(self, account: str, region: str, instance_id: str) -> dict[str, Any] | None:
        """Pods' logs are not read through the console endpoint."""
        return None

    def close(self) -> None:
        """Nothing to release."""


def settings_kubectl_missing(kubectl: Kubectl) -> bool:
    return kubectl.resolved_binary() is None


def artifacts_in(live: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The artifacts a live resource references (images, configMaps, secrets) and itself."""
    namespace = str(metadata(live).get("namespace") or "")
    found: list[dict[str, Any]] = [artifact_of(live)]
    for spec in pod_specs(live):
        for key in ("containers", "initContainers"):
            for container in spec.get(key) or []:
                image = container.get("image") if isinstance(container, Mapping) else None
                if isinstance(image, str):
                    name = image.split("@", 1)[0]
                    slash, colon = name.rfind("/"), name.rfind(":")
                    found.append(
                        {
                            "type": "docker/image",
                            "name": name[:colon] if colon > slash else name,
                            "reference": image,
                            "customKind": False,
                            "metadata": {},
                        }
                    )
        for volume in spec.get("volumes") or []:
            if isinstance(volume, Mapping) and isinstance(volume.get("configMap"), Mapping):
                found.append(_ref_artifact("configMap", str(volume["configMap"].get("name")), namespace))
            if isinstance(volume, Mapping) and isinstance(volume.get("secret"), Mapping):
                found.append(_ref_artifact("secret", str(volume["secret"].get("secretName")), namespace))
    unique: dict[str, dict[str, Any]] = {}
    for artifact in found:
        unique.setdefault(json.dumps(artifact, sort_keys=True), artifact)
    return list(unique.values())


def _ref_artifact(kind: str, reference: str, namespace: str) -> dict[str, Any]:
    parts = reference.rsplit("-v", 1)
    versioned = len(parts) == 2 and len(parts[1]) == 3 and parts[1].isdigit()
    artifact = {
        "type": f"kubernetes/{spinnaker_kind(kind)}",
        "name": parts[0] if versioned else reference,
        "location": namespace,
        "reference": reference,
        "customKind": False,
        "metadata": {},
    }
    if versioned:
        artifact["version"] = f"v{parts[1]}"
    return artifact
