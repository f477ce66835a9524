"""Rosco's manifest bakery, run in-process: ``helm template`` (HELM2/HELM3) and Kustomize
(``kubectl kustomize``) over input artifacts unpacked to a scratch directory, giving the
``embedded/base64`` artifact that a deployManifest consumes.

Argument building follows Rosco's HelmTemplateUtils / KustomizeTemplateUtils; everything runs
offline (no chart repositories are contacted: charts come from the input artifacts).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gennaker.errors import GennakerError

HELM_RENDERERS = ("HELM2", "HELM3")
KUSTOMIZE_RENDERERS = ("KUSTOMIZE", "KUSTOMIZE4")


class BakeError(GennakerError):
    """The bake cannot run or its renderer failed; the message says which and why."""


@dataclass(frozen=True)
class BakeRequest:
    """What the stage asks for (Orca's BakeManifestRequest, after its input artifacts were
    downloaded and unpacked: ``template`` is the chart or kustomization directory)."""

    renderer: str
    output_name: str
    output_artifact_name: str
    template: Path
    value_files: tuple[Path, ...] = ()
    namespace: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    raw_overrides: bool = False
    include_crds: bool = False
    api_versions: str | None = None
    kube_version: str | None = None


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def overrides_text(overrides: Mapping[str, Any]) -> str:
    """``k1=v1,k2=v2`` as Rosco passes overrides to ``--set`` / ``--set-string``."""
    return ",".join(f"{key}={_scalar(value)}" for key, value in overrides.items())


def helm_command(helm: str, request: BakeRequest) -> list[str]:
    """The ``helm template`` command line for ``request`` (Rosco's HelmTemplateUtils.buildCommand)."""
    command = [helm, "template"]
    if request.renderer == "HELM2":
        command += [str(request.template), "--name", request.output_name]
    else:
        command += [request.output_name, str(request.template)]
    if request.namespace:
        command += ["--namespace", request.namespace]
    if request.include_crds and request.renderer == "HELM3":
        command.append("--include-crds")
    if request.api_versions:
        command += ["--api-versions", request.api_versions]
    if request.kube_version:
        command += ["--kube-version", request.kube_version]
    if request.overrides:
        command += ["--set" if request.raw_overrides else "--set-string", overrides_text(request.overrides)]
    if request.value_files:
        command += ["--values", ",".join(str(p) for p in request.value_files)]
    return command


def kustomize_command(kubectl: str, request: BakeRequest) -> list[str]:
    """``kubectl kustomize <dir>`` (Rosco runs ``kustomize build <dir>``, the same renderer)."""
    return [kubectl, "kustomize", str(request.template)]


def find_executable(configured: str | None, name: str, setting: str) -> str:
    """``configured`` (a path or a name on PATH) or ``name`` on PATH; BakeError naming the setting."""
    wanted = configured or name
    found = shutil.which(wanted)
    if found is None:
        raise BakeError(
            f"the {name} executable {wanted!r} was not found on PATH; install it or set {setting} to its path"
        )
    return found


def output_artifact(request: BakeRequest, rendered: bytes) -> dict[str, Any]:
    """The baked manifest as Rosco returns it: an ``embedded/base64`` artifact."""
    return {
        "type": "embedded/base64",
        "name": request.output_artifact_name,
        "reference": base64.b64encode(rendered).decode("ascii"),
    }


def render(command: Sequence[str], *, cwd: Path, timeout_s: float, what: str) -> bytes:
    """Run a renderer; its stdout, or BakeError with the end of its stderr."""
    try:
        done = subprocess.run(
            list(command),
            cwd=cwd,
            capture_output=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError:
        raise BakeError(f"{what}: {command[0]!r} could not be run") from None
    except subprocess.TimeoutExpired:
        raise BakeError(f"{what} took longer than {timeout_s} seconds") from None
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise BakeError(
            f"{what} failed (exit {done.returncode}): {' / '.join(stderr[-5:]) or 'no error output'}"
        )
    return done.stdout


def chart_directory(root: Path, chart_file_path: str | None) -> Path:
    """The chart to template: ``helmChartFilePath``'s directory, else the directory holding the
    shallowest Chart.yaml (a chart tarball unpacks to ``<name>/Chart.yaml``)."""
    if chart_file_path:
        target = (root / chart_file_path).resolve()
        if not target.is_relative_to(root.resolve()) or not target.exists():
            raise BakeError(f"helmChartFilePath {chart_file_path!r} does not exist in the input artifact")
        return target.parent if target.is_file() else target
    charts = sorted(root.rglob("Chart.yaml"), key=lambda p: (len(p.parts), str(p)))
    if not charts:
        raise BakeError("the input artifact holds no Chart.yaml (set helmChartFilePath)")
    return charts[0].parent


def kustomization_directory(root: Path, kustomize_file_path: str | None) -> Path:
    """The overlay to build: ``kustomizeFilePath``'s directory, else the shallowest kustomization."""
    if kustomize_file_path:
        target = (root / kustomize_file_path).resolve()
        if not target.is_relative_to(root.resolve()) or not target.exists():
            raise BakeError(f"kustomizeFilePath {kustomize_file_path!r} does not exist in the input artifact")
        return target.parent if target.is_file() else target
    found = [
        p for name in ("kustomization.yaml", "kustomization.yml", "Kustomization") for p in root.rglob(name)
    ]
    if not found:
        raise BakeError("the input artifact holds no kustomization.yaml (set kustomizeFilePath)")
    return sorted(found, key=lambda p: (len(p.parts), str(p)))[0].parent
