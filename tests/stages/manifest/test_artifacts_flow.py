"""Artifacts end to end on the real control plane: a Kustomize bake (of an overlay in a real git
repository) deployed by deployManifest through ``manifestArtifactId``; a docker image artifact
from the trigger bound into a Deployment; and the corpus case, a pipeline as Deck exports it
(bakeManifest -> deployManifest -> manualJudgment -> deployManifest -> deleteManifest), saved as is
and run to SUCCEEDED."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gennaker.model.status import ExecutionStatus
from gennaker.store.executions import ExecutionQuery
from gennaker.triggers.scheduler import run_once_sync
from tests.artifacts.conftest import make_repo
from tests.kube_cluster import KubeControlPlane
from tests.stages.conftest import Harness
from tests.stages.manifest.conftest import KubeHarness, deploy_stage, deployment, kube_settings
from tests.triggers.registry import Registry, free_port

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("kube")]
CORPUS = Path(__file__).with_name("deck_bake_deploy_judge_delete.json")
OVERLAY = {
    "deploy/base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
    "deploy/base/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: app:1
""",
    "deploy/overlays/prod/kustomization.yaml": """\
resources:
  - ../../base
namePrefix: prod-
images:
  - name: app
    newName: nginx
    newTag: "1.25"
""",
}


@pytest.fixture
def kube_repos(
    make_harness: Any, kube_cluster: KubeControlPlane, kube_namespace: str, tmp_path: Path
) -> KubeHarness:
    """The manifest harness with a git/repo artifact account reading repositories under tmp_path."""
    base: Harness = make_harness(
        providers=kube_settings(kube_cluster),
        artifacts__gitrepo__accounts=[{"name": "repos", "local_roots": [str(tmp_path)]}],
    )
    harness = KubeHarness(base.services)
    harness.cluster = kube_cluster
    harness.namespace = kube_namespace
    return harness


def _image(kube: KubeHarness, name: str) -> str:
    live = kube.cluster.get("deployment", name, kube.namespace)
    assert live is not None, name
    return str(live["spec"]["template"]["spec"]["containers"][0]["image"])


def test_kustomize_bake_then_deploy(kube_repos: KubeHarness, tmp_path: Path) -> None:
    kube = kube_repos
    repo = tmp_path / "repos" / "shop"
    make_repo(repo, OVERLAY)
    bake = {
        "refId": "bake",
        "type": "bakeManifest",
        "templateRenderer": "KUSTOMIZE4",
        "kustomizeFilePath": "deploy/overlays/prod/kustomization.yaml",
        "inputArtifact": {"id": "repo", "account": "repos"},
        "expectedArtifacts": [{"id": "baked", "matchArtifact": {"type": "embedded/base64", "name": "web"}}],
    }
    deploy = deploy_stage(kube.namespace, [], ref="deploy", source="artifact", manifestArtifactId="baked")
    deploy["requisiteStageRefIds"] = ["bake"]
    del deploy["manifests"]
    expected = {
        "id": "repo",
        "matchArtifact": {"type": "git/repo"},
        "useDefaultArtifact": True,
        "defaultArtifact": {"type": "git/repo", "reference": str(repo), "artifactAccount": "repos"},
    }
    done = kube.run_pipeline([bake, deploy], expectedArtifacts=[expected])
    assert done.status == ExecutionStatus.SUCCEEDED, [s.context.get("exception") for s in done.stages]
    assert _image(kube, "prod-web") == "nginx:1.25"


def test_a_docker_trigger_artifact_is_bound_into_the_manifest(kube: KubeHarness) -> None:
    image = {"type": "docker/image", "name": "registry.local/shop/web", "version": "2.0.1",
             "reference": "registry.local/shop/web:2.0.1"}  # fmt: skip
    expected = {"id": "img", "displayName": "web image",
                "matchArtifact": {"type": "docker/image", "name": "registry.local/shop/web"}}  # fmt: skip
    stage = deploy_stage(
        kube.namespace,
        [deployment("web", image="registry.local/shop/web", replicas=1)],
        requiredArtifactIds=["img"],
    )
    trigger = {"type": "docker", "expectedArtifactIds": ["img"], "tag": "2.0.1", "artifacts": [image]}
    done = kube.run_pipeline([stage], expectedArtifacts=[expected], trigger=trigger)
    assert done.status == ExecutionStatus.SUCCEEDED, done.stages[0].context.get("exception")
    assert _image(kube, "web") == "registry.local/shop/web:2.0.1"
    assert image in done.stages[0].outputs["outputs.boundArtifacts"]


def test_the_deck_exported_pipeline_runs_to_succeeded(kube_repos: KubeHarness, tmp_path: Path) -> None:
    kube = kube_repos
    repo = tmp_path / "repos" / "shop"
    make_repo(repo, OVERLAY)
    text = CORPUS.read_text().replace("__REPO__", str(repo)).replace("__NS__", kube.namespace)
    exported = json.loads(text)
    saved = kube.save_pipeline(exported)
    assert saved["stages"] == exported["stages"]  # saved as is
    execution = kube.services.launcher.start_pipeline(saved, {"type": "manual", "user": "alice"})
    kube.run_until(lambda: kube.stage(execution.id, "3").status == ExecutionStatus.RUNNING)
    assert _image(kube, "prod-web") == "nginx:1.25"
    waiting = kube.stage(execution.id, "3")
    kube.services.operations.patch_stage(
        execution.id, waiting.id, {"judgmentStatus": "continue"}, user="alice"
    )
    done = kube.run_until_complete(execution.id)
    assert done.status == ExecutionStatus.SUCCEEDED, [s.context.get("exception") for s in done.stages]
    assert kube.cluster.get("deployment", "prod-web", kube.namespace) is None
    promoted = kube.cluster.get("configmap", "web-promoted-v000", kube.namespace)  # ConfigMaps are versioned
    assert promoted is not None and promoted["data"] == {"promotedBy": "alice"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    server = Registry(tmp_path_factory.mktemp("registry"))
    yield server
    server.stop()


def test_a_tag_pushed_to_a_real_registry_is_deployed(
    make_harness: Any, kube_cluster: KubeControlPlane, kube_namespace: str, registry: Registry
) -> None:
    """A docker trigger polling the real registry (Debian's docker-registry) starts the pipeline;
    its docker/image artifact binds into the Deployment's image."""
    repository = f"shop/web-{free_port()}"
    registry.push(repository, "v1")
    host = registry.url.removeprefix("http://")
    base: Harness = make_harness(
        providers=kube_settings(kube_cluster),
        docker__accounts=[{"name": "local", "address": registry.url, "repositories": [repository],
                           "pollIntervalSeconds": 30}],
    )  # fmt: skip
    kube = KubeHarness(base.services)
    kube.cluster, kube.namespace = kube_cluster, kube_namespace
    image_name = f"{host}/{repository}"
    config = kube.save_pipeline(
        {
            "application": "shop",
            "name": "deploy-on-push",
            "expectedArtifacts": [{"id": "img", "displayName": "web image",
                                   "matchArtifact": {"type": "docker/image", "name": image_name}}],
            "triggers": [{"type": "docker", "enabled": True, "account": "local", "repository": repository,
                          "expectedArtifactIds": ["img"]}],
            "stages": [deploy_stage(kube_namespace, [deployment("web", image=image_name, replicas=1)],
                                    requiredArtifactIds=["img"])],
        }
    )  # fmt: skip
    run_once_sync(kube.services)  # the first poll records v1 without triggering
    registry.push(repository, "v2")
    kube.clock.advance(ms=30_000)
    run_once_sync(kube.services)
    with kube.services.db.read() as conn:
        [execution] = kube.services.executions.search(
            conn, ExecutionQuery(pipeline_config_ids=[config["id"]])
        )
    done = kube.run_until_complete(execution.id)
    assert done.status == ExecutionStatus.SUCCEEDED, done.stages[0].context.get("exception")
    assert _image(kube, "web") == f"{image_name}:v2"
