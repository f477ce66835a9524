"""``bakeManifest`` (Orca's BakeManifestStage with Rosco's manifest bakery run in-process):
``createBake`` renders the input artifacts with Helm (``helm template``) or Kustomize (``kubectl
kustomize``) into one ``embedded/base64`` artifact, then ``bindProducedArtifacts`` binds it to the
stage's single expected artifact, which a downstream deployManifest reads through
``manifestArtifactId``.

Settings (``[stages.bake_manifest]``): ``helm`` (path or name on PATH, default ``helm``),
``kubectl`` (default ``kubectl``), ``timeout_seconds`` (default 120). Overrides are evaluated with
the rest of the stage context when the stage starts, so ``evaluateOverrideExpressions`` needs no
second pass here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gennaker.artifacts import ArtifactAccounts, ArtifactError, extract_tarball, is_tarball
from gennaker.bakery.manifests import (
    HELM_RENDERERS,
    KUSTOMIZE_RENDERERS,
    BakeError,
    BakeRequest,
    chart_directory,
    find_executable,
    helm_command,
    kustomization_directory,
    kustomize_command,
    output_artifact,
    render,
)
from gennaker.config import ConfigError
from gennaker.engine.artifact_lookup import bound_artifact_for_id
from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.stages.bind_artifacts import TASK_NAME as BIND_TASK


class BakeManifestSettings(BaseModel):
    """``[stages.bake_manifest]``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    helm: str | None = None
    kubectl: str | None = None
    timeout_seconds: float = Field(default=120.0, gt=0)


def bake_settings(settings: Any) -> BakeManifestSettings:
    """The validated section (ConfigError naming the bad key)."""
    raw = (getattr(settings, "stages", None) or {}).get("bake_manifest") or {}
    try:
        return BakeManifestSettings.model_validate(dict(raw))
    except ValidationError as exc:
        problems = "; ".join(
            f"stages.bake_manifest.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid bakeManifest settings: {problems}") from None


def _accounts(run: TaskRun) -> ArtifactAccounts:
    found = getattr(run.services, "artifacts", None)
    return (
        found
        if isinstance(found, ArtifactAccounts)
        else ArtifactAccounts.from_settings(run.services.settings)
    )


def _input_entries(context: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    entries = context.get("inputArtifacts")
    if isinstance(entries, list) and entries:
        return [e for e in entries if isinstance(e, Mapping)]
    single = context.get("inputArtifact")  # Deck's Kustomize editor writes one
    return [single] if isinstance(single, Mapping) else []


class CreateBakeManifestTask(BaseTask):
    """Downloads the inputs, renders, and outputs ``artifacts: [<embedded/base64>]``."""

    def __init__(self, settings: BakeManifestSettings) -> None:
        self.settings = settings

    async def execute(self, run: TaskRun) -> TaskResult:
        """Bake (TERMINAL with Orca's or the renderer's message on bad input)."""
        try:
            artifact = self._bake(run)
        except (BakeError, ArtifactError) as exc:
            return TaskResult.terminal(exc.message)
        values = {"artifacts": [artifact], "cloudProvider": "kubernetes"}
        return TaskResult.succeeded(values, values)

    def _inputs(self, run: TaskRun) -> list[dict[str, Any]]:
        entries = _input_entries(run.context)
        if not entries:
            raise BakeError("At least one input artifact to bake must be supplied")
        resolved: list[dict[str, Any]] = []
        for entry in entries:
            artifact_id = entry.get("id")
            found = (
                bound_artifact_for_id(run.execution, run.stage, str(artifact_id))
                if artifact_id
                else (dict(entry["artifact"]) if isinstance(entry.get("artifact"), Mapping) else None)
            )
            if found is None:
                raise BakeError(
                    f"Input artifact (id: {artifact_id}, account: {entry.get('account')}) could not be found "
                    f"in execution (id: {run.execution.id})."
                )
            if entry.get("account"):
                found["artifactAccount"] = entry["account"]
            resolved.append(found)
        return resolved

    def _bake(self, run: TaskRun) -> dict[str, Any]:
        context = run.context
        renderer = str(context.get("templateRenderer") or "").upper()
        if renderer not in HELM_RENDERERS + KUSTOMIZE_RENDERERS:
            known = ", ".join(HELM_RENDERERS + KUSTOMIZE_RENDERERS)
            raise BakeError(
                f"Invalid template renderer {context.get('templateRenderer')!r} (supported: {known})"
            )
        inputs = self._inputs(run)
        expected = context.get("expectedArtifacts")
        if not isinstance(expected, list) or len(expected) != 1 or not isinstance(expected[0], Mapping):
            raise BakeError(
                "The Bake (Manifest) stage produces one embedded base64 artifact.  Please ensure that your Bake "
                "(Manifest) stage config's `Produces Artifacts` section (`expectedArtifacts` field) contains "
                "exactly one artifact."
            )
        match = expected[0].get("matchArtifact")
        artifact_name = str((match or {}).get("name") or context.get("outputName") or "")
        accounts = _accounts(run)
        with tempfile.TemporaryDirectory(prefix="gennaker-bake-") as scratch:
            root = Path(scratch)
            template_root = root / "input"
            template_root.mkdir()
            first = accounts.fetch(inputs[0])
            if not is_tarball(first):
                kind = "chart" if renderer in HELM_RENDERERS else "kustomization"
                raise BakeError(
                    f"the first input artifact ({inputs[0].get('type')} {inputs[0].get('name')!r}) must be a "
                    f"{kind} directory: a git/repo artifact or an embedded tarball"
                )
            extract_tarball(first, template_root, what="the first input artifact")
            values: list[Path] = []
            for index, extra in enumerate(inputs[1:], start=1):
                path = root / f"values-{index}.yaml"
                path.write_bytes(accounts.fetch(extra))
                values.append(path)
            overrides = context.get("overrides")
            request = BakeRequest(
                renderer=renderer,
                output_name=str(context.get("outputName") or artifact_name or "release"),
                output_artifact_name=artifact_name,
                template=template_root,
                value_files=tuple(values),
                namespace=str(context["namespace"]) if context.get("namespace") else None,
                overrides=dict(overrides) if isinstance(overrides, Mapping) else {},
                raw_overrides=context.get("rawOverrides") is True,
                include_crds=context.get("includeCRDs") is True,
                api_versions=str(context["apiVersions"]) if context.get("apiVersions") else None,
                kube_version=str(context["kubeVersion"]) if context.get("kubeVersion") else None,
            )
            timeout = self.settings.timeout_seconds
            if renderer in HELM_RENDERERS:
                chart = chart_directory(template_root, context.get("helmChartFilePath"))
                request = _with_template(request, chart)
                helm = find_executable(self.settings.helm, "helm", "stages.bake_manifest.helm")
                rendered = render(
                    helm_command(helm, request), cwd=root, timeout_s=timeout, what="helm template"
                )
            else:
                overlay = kustomization_directory(template_root, context.get("kustomizeFilePath"))
                request = _with_template(request, overlay)
                kubectl = find_executable(self.settings.kubectl, "kubectl", "stages.bake_manifest.kubectl")
                rendered = render(
                    kustomize_command(kubectl, request), cwd=root, timeout_s=timeout, what="kubectl kustomize"
                )
        return output_artifact(request, rendered)


def _with_template(request: BakeRequest, template: Path) -> BakeRequest:
    return replace(request, template=template)


class BakeManifestStage(BaseStage):
    """createBake, then bindProducedArtifacts."""

    type = "bakeManifest"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """Orca's two tasks."""
        return [TaskSpec("createBake", "createBakeManifestTask"), TaskSpec(BIND_TASK, BIND_TASK)]


def register(registry: Registry, settings: Any) -> None:
    """Add bakeManifest."""
    registry.add_task("createBakeManifestTask", CreateBakeManifestTask(bake_settings(settings)))
    registry.add_stage(BakeManifestStage())
