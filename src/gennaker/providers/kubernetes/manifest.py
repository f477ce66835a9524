"""Manifests as Clouddriver names and annotates them: ``"<kind> <name>"`` resource names, the
moniker/artifact/strategy/traffic annotations, versioned kinds and pod templates."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

Manifest = dict[str, Any]

MONIKER = "moniker.spinnaker.io/"
ARTIFACT = "artifact.spinnaker.io/"
STRATEGY = "strategy.spinnaker.io/"
LOAD_BALANCERS = "traffic.spinnaker.io/load-balancers"
CACHING_IGNORE = "caching.spinnaker.io/ignore"
#: Our own: the content hash that finds an identical prior version (see versioning).
CONTENT_HASH = "deployment.gennaker.io/content-hash"

#: Kinds versioned (-vNNN) unless the annotation says otherwise (the handlers' versioned()).
VERSIONED_KINDS = frozenset({"replicaset", "pod", "configmap", "secret"})
#: Kinds with a pod template at spec.template.
POD_TEMPLATE_KINDS = frozenset(
    {"deployment", "replicaset", "statefulset", "daemonset", "job", "replicationcontroller"}
)
#: Deploy order (Clouddriver's kind priorities): namespaces and config before workloads.
_PRIORITY = {
    "namespace": 0,
    "customresourcedefinition": 0,
    "serviceaccount": 1,
    "role": 1,
    "clusterrole": 1,
    "rolebinding": 2,
    "clusterrolebinding": 2,
    "configmap": 3,
    "secret": 3,
    "persistentvolumeclaim": 3,
    "service": 4,
}
#: Kinds that are not namespaced (a namespaceOverride does not apply).
CLUSTER_SCOPED = frozenset(
    {
        "namespace",
        "customresourcedefinition",
        "clusterrole",
        "clusterrolebinding",
        "persistentvolume",
        "node",
        "storageclass",
    }
)
_VERSION = re.compile(r"^(?P<base>.+)-v(?P<n>\d{3})$")


def spinnaker_kind(kind: str) -> str:
    """Clouddriver's kind spelling: ``ReplicaSet`` -> ``replicaSet``."""
    return kind[:1].lower() + kind[1:] if kind else kind


def resource_name(manifest: Mapping[str, Any]) -> str:
    """``"replicaSet web-v001"``."""
    return f"{spinnaker_kind(str(manifest.get('kind', '')))} {metadata(manifest).get('name', '')}"


def split_name(full: str) -> tuple[str, str]:
    """``"replicaSet web-v001"`` -> (``replicaSet``, ``web-v001``); the kind is required."""
    kind, _, name = full.strip().partition(" ")
    if not name.strip():
        raise ValueError(f"manifest name {full!r} must be '<kind> <name>' (e.g. 'deployment web')")
    return kind, name.strip()


def metadata(manifest: Mapping[str, Any]) -> dict[str, Any]:
    found = manifest.get("metadata")
    return found if isinstance(found, dict) else {}


def notes_of(manifest: Manifest) -> dict[str, str]:
    """The manifest's annotations (created when missing)."""
    meta = manifest.setdefault("metadata", {})
    found = meta.get("annotations")
    if not isinstance(found, dict):
        found = meta["annotations"] = {}
    result: dict[str, str] = found
    return result


def read_annotations(manifest: Mapping[str, Any]) -> Mapping[str, str]:
    found = metadata(manifest).get("annotations")
    return found if isinstance(found, Mapping) else {}


def labels(manifest: Mapping[str, Any]) -> Mapping[str, str]:
    found = metadata(manifest).get("labels")
    return found if isinstance(found, Mapping) else {}


def pod_template(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """spec.template of a workload, or None."""
    spec = manifest.get("spec")
    if str(manifest.get("kind", "")).lower() not in POD_TEMPLATE_KINDS or not isinstance(spec, dict):
        return None
    template = spec.setdefault("template", {})
    return template if isinstance(template, dict) else None


def pod_specs(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The pod specs in a manifest (a Pod's spec, a workload's template spec, a CronJob's job's)."""
    kind = str(manifest.get("kind", "")).lower()
    spec = manifest.get("spec")
    if not isinstance(spec, dict):
        return []
    if kind == "pod":
        return [spec]
    if kind == "cronjob":
        job = spec.get("jobTemplate", {}).get("spec", {})
        spec = job if isinstance(job, dict) else {}
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        return [template["spec"]]
    return []


def is_versioned(manifest: Mapping[str, Any], default: bool | None = None) -> bool:
    """``strategy.spinnaker.io/versioned``, else the description's ``versioned``, else the kind's default."""
    flag = read_annotations(manifest).get(STRATEGY + "versioned")
    if flag is not None:
        return str(flag).lower() == "true"
    if default is not None:
        return default
    return str(manifest.get("kind", "")).lower() in VERSIONED_KINDS


def strategy(manifest: Mapping[str, Any], key: str) -> str | None:
    value = read_annotations(manifest).get(STRATEGY + key)
    return None if value is None else str(value)


def version_of(name: str) -> tuple[str, int] | None:
    """``web-v003`` -> (``web``, 3)."""
    match = _VERSION.match(name)
    return (match.group("base"), int(match.group("n"))) if match else None


def priority(manifest: Mapping[str, Any]) -> int:
    return _PRIORITY.get(str(manifest.get("kind", "")).lower(), 5)


def load_balancers(manifest: Mapping[str, Any]) -> list[str]:
    """The ``traffic.spinnaker.io/load-balancers`` annotation's list (``["service web"]``)."""
    raw = read_annotations(manifest).get(LOAD_BALANCERS)
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        raise ValueError(
            f"annotation {LOAD_BALANCERS} must be a JSON list like '[\"service web\"]' (got {raw!r})"
        ) from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"annotation {LOAD_BALANCERS} must be a JSON list of strings (got {raw!r})")
    return list(value)


def annotate(manifest: Manifest, moniker: Mapping[str, Any], artifact: Mapping[str, Any]) -> None:
    """Moniker and artifact annotations on the resource and its pod template."""
    values = {
        MONIKER + "application": moniker.get("app"),
        MONIKER + "cluster": moniker.get("cluster"),
        MONIKER + "stack": moniker.get("stack"),
        MONIKER + "detail": moniker.get("detail"),
        MONIKER + "sequence": moniker.get("sequence"),
        ARTIFACT + "type": artifact.get("type"),
        ARTIFACT + "name": artifact.get("name"),
        ARTIFACT + "location": artifact.get("location"),
        ARTIFACT + "version": artifact.get("version"),
    }
    targets = [manifest]
    template = pod_template(manifest)
    if template is not None:
        targets.append(template)
    for target in targets:
        notes = notes_of(target)
        for key, value in values.items():
            if value not in (None, ""):
                notes[key] = str(value)


def moniker_of(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The moniker a live resource carries (application, cluster, stack, detail, sequence)."""
    notes = read_annotations(manifest)
    moniker: dict[str, Any] = {}
    for key in ("application", "cluster", "stack", "detail"):
        if notes.get(MONIKER + key):
            moniker["app" if key == "application" else key] = notes[MONIKER + key]
    seq = notes.get(MONIKER + "sequence") or notes.get("deployment.kubernetes.io/revision")
    if seq is not None and str(seq).isdigit():
        moniker["sequence"] = int(seq)
    return moniker


def artifact_of(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The ``kubernetes/<kind>`` artifact of a resource (ArtifactConverter)."""
    meta = metadata(manifest)
    name = str(meta.get("name", ""))
    versioned = version_of(name)
    artifact: dict[str, Any] = {
        "type": f"kubernetes/{spinnaker_kind(str(manifest.get('kind', '')))}",
        "name": versioned[0] if versioned else name,
        "location": meta.get("namespace") or "",
        "reference": name,
        "customKind": False,
        "metadata": {},
    }
    if versioned:
        artifact["version"] = f"v{versioned[1]:03d}"
    return artifact


def stripped(manifest: Mapping[str, Any]) -> Manifest:
    """A copy without server-set fields (status, uid, resourceVersion, managedFields...)."""
    copied = copy.deepcopy(dict(manifest))
    copied.pop("status", None)
    meta = copied.get("metadata")
    if isinstance(meta, dict):
        for key in ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink"):
            meta.pop(key, None)
    return copied


REDACTED = "**redacted**"


def redacted(manifest: Mapping[str, Any]) -> Manifest:
    """A copy safe to show: a Secret's values (and kubectl's copy of them in the
    last-applied-configuration annotation) replaced, everything else as is."""
    copied = copy.deepcopy(dict(manifest))
    if str(copied.get("kind", "")).lower() != "secret":
        return copied
    for key in ("data", "stringData"):
        if isinstance(copied.get(key), dict):
            copied[key] = {k: REDACTED for k in copied[key]}
    notes = metadata(copied).get("annotations")
    if isinstance(notes, dict) and "kubectl.kubernetes.io/last-applied-configuration" in notes:
        notes["kubectl.kubernetes.io/last-applied-configuration"] = REDACTED
    return copied
