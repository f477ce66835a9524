"""Rosco's Helm argument building and output handling (no Helm binary can be installed here, so
Helm itself is only run by the test that skips when it is absent)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from gennaker.bakery.manifests import (
    BakeError,
    BakeRequest,
    chart_directory,
    find_executable,
    helm_command,
    output_artifact,
    overrides_text,
)


def _request(**fields: object) -> BakeRequest:
    base: dict[str, object] = {
        "renderer": "HELM3",
        "output_name": "shop",
        "output_artifact_name": "shop-manifests",
        "template": Path("/tmp/chart"),
    }
    base.update(fields)
    return BakeRequest(**base)  # type: ignore[arg-type]


def test_helm3_command_as_rosco_builds_it() -> None:
    request = _request(
        namespace="prod",
        include_crds=True,
        api_versions="batch/v1",
        kube_version="1.19",
        overrides={"image.tag": "7", "debug": True},
        value_files=(Path("/tmp/values-1.yaml"), Path("/tmp/values-2.yaml")),
    )
    assert helm_command("/usr/bin/helm", request) == [
        "/usr/bin/helm", "template", "shop", "/tmp/chart",
        "--namespace", "prod", "--include-crds", "--api-versions", "batch/v1", "--kube-version", "1.19",
        "--set-string", "image.tag=7,debug=true",
        "--values", "/tmp/values-1.yaml,/tmp/values-2.yaml",
    ]  # fmt: skip


def test_helm2_raw_overrides_and_no_crds() -> None:
    request = _request(renderer="HELM2", include_crds=True, raw_overrides=True, overrides={"replicas": 3})
    assert helm_command("helm", request) == [
        "helm",
        "template",
        "/tmp/chart",
        "--name",
        "shop",
        "--set",
        "replicas=3",
    ]


def test_overrides_keep_their_order() -> None:
    assert overrides_text({"b": 1, "a": None, "c": False}) == "b=1,a=,c=false"


def test_output_is_an_embedded_artifact_named_by_the_expected_artifact() -> None:
    assert output_artifact(_request(), b"kind: Pod\n") == {
        "type": "embedded/base64",
        "name": "shop-manifests",
        "reference": base64.b64encode(b"kind: Pod\n").decode(),
    }


def test_a_missing_helm_names_the_setting() -> None:
    with pytest.raises(BakeError, match=r"'no-such-helm-binary' was not found.*stages.bake_manifest.helm"):
        find_executable("no-such-helm-binary", "helm", "stages.bake_manifest.helm")


def test_the_chart_is_the_shallowest_chart_yaml(tmp_path: Path) -> None:
    (tmp_path / "shop" / "charts" / "dep").mkdir(parents=True)
    (tmp_path / "shop" / "Chart.yaml").write_text("name: shop\n")
    (tmp_path / "shop" / "charts" / "dep" / "Chart.yaml").write_text("name: dep\n")
    assert chart_directory(tmp_path, None) == tmp_path / "shop"
    assert chart_directory(tmp_path, "shop/charts/dep/Chart.yaml") == (tmp_path / "shop/charts/dep").resolve()
    with pytest.raises(BakeError, match="helmChartFilePath '../x' does not exist"):
        chart_directory(tmp_path, "../x")
