"""``bakeManifest`` through the engine: a real Kustomize render (``kubectl kustomize``) of an
overlay in a real git repository and of an embedded tarball, the baked artifact bound for a later
stage, Orca's errors for bad input, and Helm where a Helm binary exists (none can be installed on
this machine, so that test skips with the reason, even under CI)."""

from __future__ import annotations

import base64
import io
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gennaker.engine.artifact_lookup import bound_artifact_for_id
from gennaker.model.status import ExecutionStatus as S
from tests.artifacts.conftest import make_repo
from tests.stages.conftest import Harness

KUSTOMIZATION = """\
resources:
  - ../../base
namespace: shop-prod
namePrefix: prod-
images:
  - name: app
    newTag: "7"
"""
BASE = {
    "deploy/base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
    "deploy/base/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: app:1
""",
    "deploy/overlays/prod/kustomization.yaml": KUSTOMIZATION,
}


def _bake_stage(**extra: Any) -> dict[str, Any]:
    return {
        "refId": "bake",
        "type": "bakeManifest",
        "name": "Bake (Manifest)",
        "templateRenderer": "KUSTOMIZE4",
        "kustomizeFilePath": "deploy/overlays/prod/kustomization.yaml",
        "inputArtifact": {"id": "repo", "account": "repos"},
        "expectedArtifacts": [
            {
                "id": "baked",
                "displayName": "baked",
                "matchArtifact": {"type": "embedded/base64", "name": "shop-prod", "kind": "base64"},
                "useDefaultArtifact": False,
                "usePriorArtifact": False,
            }
        ],
        **extra,
    }


def _repo_expected(repo: Path) -> dict[str, Any]:
    artifact = {"type": "git/repo", "reference": str(repo), "artifactAccount": "repos", "version": "main"}
    return {
        "id": "repo",
        "displayName": "repo",
        "matchArtifact": {"type": "git/repo", "artifactAccount": "repos"},
        "useDefaultArtifact": True,
        "defaultArtifact": artifact,
    }


@pytest.fixture
def baking(make_harness: Callable[..., Harness], tmp_path: Path) -> Harness:
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl (Debian's kubernetes-client) is part of the test set-up and is missing")
    return make_harness(
        **{"artifacts__gitrepo__accounts": [{"name": "repos", "local_roots": [str(tmp_path)]}]}
    )


def _rendered(artifact: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(base64.b64decode(artifact["reference"])) if d]


def test_kustomize_bake_of_a_git_overlay_binds_the_baked_artifact(baking: Harness, tmp_path: Path) -> None:
    repo = tmp_path / "repos" / "shop"
    make_repo(repo, BASE)
    execution = baking.start(
        [_bake_stage(), {"refId": "after", "requisiteStageRefIds": ["bake"], "type": "noop"}],
        expectedArtifacts=[_repo_expected(repo)],
        trigger={"type": "docker", "expectedArtifactIds": []},
    )
    done = baking.run_until_complete(execution.id)
    bake = done.stage_by_ref_id("bake")
    after = done.stage_by_ref_id("after")
    assert bake is not None and after is not None
    assert done.status == S.SUCCEEDED, bake.context.get("exception")
    [artifact] = bake.outputs["artifacts"]
    assert (artifact["type"], artifact["name"]) == ("embedded/base64", "shop-prod")
    [deployment] = _rendered(artifact)
    assert deployment["metadata"] == {"name": "prod-web", "namespace": "shop-prod"}
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "app:7"
    assert bake.outputs["cloudProvider"] == "kubernetes"
    assert bound_artifact_for_id(done, after, "baked") == artifact


def test_kustomize_bake_of_an_embedded_tarball(baking: Harness) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in BASE.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    tarball = {
        "type": "embedded/base64",
        "name": "overlay",
        "reference": base64.b64encode(buffer.getvalue()).decode(),
    }
    stage = _bake_stage(inputArtifact=None, inputArtifacts=[{"artifact": tarball}])
    execution = baking.start([stage])
    done = baking.run_until_complete(execution.id)
    bake = done.stage_by_ref_id("bake")
    assert bake is not None and done.status == S.SUCCEEDED, bake.context.get("exception")
    assert _rendered(bake.outputs["artifacts"][0])[0]["metadata"]["name"] == "prod-web"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"expectedArtifacts": []}, "contains exactly one artifact"),
        ({"templateRenderer": "JSONNET"}, "Invalid template renderer 'JSONNET'"),
        (
            {"inputArtifact": {"id": "nope", "account": "repos"}},
            "Input artifact (id: nope, account: repos) could not",
        ),
        ({"kustomizeFilePath": "deploy/missing/kustomization.yaml"}, "kustomizeFilePath 'deploy/missing/"),
    ],
)
def test_bad_bakes_fail_with_a_clear_message(
    baking: Harness, tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    repo = tmp_path / "repos" / "shop"
    make_repo(repo, BASE)
    execution = baking.start([_bake_stage(**change)], expectedArtifacts=[_repo_expected(repo)])
    done = baking.run_until_complete(execution.id)
    bake = done.stage_by_ref_id("bake")
    assert bake is not None and bake.status == S.TERMINAL
    assert message in bake.context["exception"]["details"]["error"]


def test_a_kustomize_error_is_reported(baking: Harness, tmp_path: Path) -> None:
    repo = tmp_path / "repos" / "shop"
    make_repo(repo, {**BASE, "deploy/overlays/prod/kustomization.yaml": "resources:\n  - ../../nowhere\n"})
    execution = baking.start([_bake_stage()], expectedArtifacts=[_repo_expected(repo)])
    done = baking.run_until_complete(execution.id)
    bake = done.stage_by_ref_id("bake")
    assert bake is not None and bake.status == S.TERMINAL
    assert "kubectl kustomize failed" in bake.context["exception"]["details"]["error"]


def test_helm_bake_of_a_chart_in_git(baking: Harness, tmp_path: Path) -> None:
    """Runs only where a Helm 3 binary is on PATH (none can be installed on this machine)."""
    if shutil.which("helm") is None:
        pytest.skip(
            "no helm binary on PATH (Helm cannot be installed on this machine; arguments are unit-tested)"
        )
    repo = tmp_path / "repos" / "chart"
    make_repo(
        repo,
        {
            "shop/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
            "shop/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
            "data:\n  tag: {{ .Values.tag | quote }}\n",
        },
    )
    stage = _bake_stage(templateRenderer="HELM3", outputName="web", overrides={"tag": "7"},
                        inputArtifacts=[{"id": "repo", "account": "repos"}], inputArtifact=None)  # fmt: skip
    execution = baking.start([stage], expectedArtifacts=[_repo_expected(repo)])
    done = baking.run_until_complete(execution.id)
    bake = done.stage_by_ref_id("bake")
    assert bake is not None and done.status == S.SUCCEEDED, bake.context.get("exception")
    [config_map] = _rendered(bake.outputs["artifacts"][0])
    assert config_map["metadata"]["name"] == "web" and config_map["data"] == {"tag": "7"}
