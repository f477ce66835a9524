"""Binding artifacts into manifests (Clouddriver's ArtifactReplacer and its Replacers): a
``docker/image`` replaces container images of the same name, a ``kubernetes/configMap`` or
``kubernetes/secret`` replaces references to the unversioned name in the same namespace."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gennaker.providers.kubernetes.manifest import Manifest, metadata, pod_specs


def artifact_key(artifact: Mapping[str, Any]) -> str:
    """Clouddriver's key of an artifact: ``[type]-[name]-[location]``."""
    return f"[{artifact.get('type') or ''}]-[{artifact.get('name') or ''}]-[{artifact.get('location') or ''}]"


def _image_name(image: str) -> str:
    """``repo/x:1.2`` and ``repo/x@sha256:..`` -> ``repo/x`` (a port in the host is kept)."""
    base = image.split("@", 1)[0]
    slash = base.rfind("/")
    colon = base.rfind(":")
    return base[:colon] if colon > slash else base


def _containers(spec: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                yield container


def _bind_image(spec: dict[str, Any], artifact: Mapping[str, Any]) -> bool:
    bound = False
    name, reference = str(artifact.get("name") or ""), str(artifact.get("reference") or "")
    for container in _containers(spec):
        image = container.get("image")
        if isinstance(image, str) and name and (image == name or _image_name(image) == name):
            if image != reference:
                container["image"] = reference
            bound = True
    return bound


def _refs(spec: dict[str, Any], kind: str) -> Iterable[tuple[dict[str, Any], str]]:
    """(holder, key) pairs whose value names a configMap or secret."""
    volume_key, volume_field = ("configMap", "name") if kind == "configMap" else ("secret", "secretName")
    for volume in spec.get("volumes") or []:
        if isinstance(volume, dict) and isinstance(volume.get(volume_key), dict):
            yield volume[volume_key], volume_field
        projected = volume.get("projected") if isinstance(volume, dict) else None
        for source in (projected or {}).get("sources") or []:
            if isinstance(source, dict) and isinstance(source.get(volume_key), dict):
                yield source[volume_key], "name"
    ref_key, key_ref = (
        ("configMapRef", "configMapKeyRef") if kind == "configMap" else ("secretRef", "secretKeyRef")
    )
    for container in _containers(spec):
        for env_from in container.get("envFrom") or []:
            if isinstance(env_from, dict) and isinstance(env_from.get(ref_key), dict):
                yield env_from[ref_key], "name"
        for env in container.get("env") or []:
            source = env.get("valueFrom") if isinstance(env, dict) else None
            if isinstance(source, dict) and isinstance(source.get(key_ref), dict):
                yield source[key_ref], "name"


def _bind_reference(spec: dict[str, Any], artifact: Mapping[str, Any], kind: str, namespace: str) -> bool:
    if (artifact.get("location") or "") not in ("", namespace):
        return False
    bound = False
    for holder, key in _refs(spec, kind):
        if holder.get(key) == artifact.get("name"):
            holder[key] = artifact.get("reference")
            bound = True
        elif holder.get(key) == artifact.get("reference"):
            bound = True
    return bound


def bind(manifest: Manifest, artifacts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Replace what the artifacts name in ``manifest`` (in place); the artifacts that bound."""
    namespace = str(metadata(manifest).get("namespace") or "")
    bound: list[dict[str, Any]] = []
    for artifact in artifacts:
        kind = str(artifact.get("type") or "")
        hit = False
        for spec in pod_specs(manifest):
            if kind == "docker/image":
                hit = _bind_image(spec, artifact) or hit
            elif kind in ("kubernetes/configMap", "kubernetes/secret"):
                hit = _bind_reference(spec, artifact, kind.split("/", 1)[1], namespace) or hit
        if hit and all(artifact_key(b) != artifact_key(artifact) for b in bound):
            bound.append(dict(artifact))
    return bound
