"""Binding artifacts into manifests as Clouddriver's replacers do."""

from __future__ import annotations

from typing import Any

from gennaker.providers.kubernetes.binding import artifact_key, bind


def _deployment(image: str, **pod: Any) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod"},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image, **pod}]}}},
    }


def test_a_docker_image_replaces_the_image_of_the_same_name() -> None:
    manifest = _deployment("registry.local:5000/web")
    artifact = {
        "type": "docker/image",
        "name": "registry.local:5000/web",
        "reference": "registry.local:5000/web:2",
    }
    assert bind(manifest, [artifact]) == [artifact]
    assert manifest["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.local:5000/web:2"


def test_an_image_of_another_name_is_left_alone() -> None:
    manifest = _deployment("nginx:1")
    assert bind(manifest, [{"type": "docker/image", "name": "web", "reference": "web:2"}]) == []
    assert manifest["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"


def test_config_maps_and_secrets_bind_in_their_namespace_only() -> None:
    manifest = _deployment(
        "nginx",
        envFrom=[{"configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "creds"}}],
        env=[{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "x"}}}],
    )
    manifest["spec"]["template"]["spec"]["volumes"] = [{"name": "v", "configMap": {"name": "cfg"}}]
    config = {"type": "kubernetes/configMap", "name": "cfg", "location": "prod", "reference": "cfg-v002"}
    secret = {"type": "kubernetes/secret", "name": "creds", "location": "other", "reference": "creds-v001"}
    assert bind(manifest, [config, secret]) == [config]
    pod = manifest["spec"]["template"]["spec"]
    assert pod["volumes"][0]["configMap"]["name"] == "cfg-v002"
    assert pod["containers"][0]["envFrom"] == [
        {"configMapRef": {"name": "cfg-v002"}},
        {"secretRef": {"name": "creds"}},
    ]
    assert pod["containers"][0]["env"][0]["valueFrom"]["configMapKeyRef"]["name"] == "cfg-v002"


def test_artifact_key_is_type_name_location() -> None:
    assert artifact_key({"type": "docker/image", "name": "web"}) == "[docker/image]-[web]-[]"
