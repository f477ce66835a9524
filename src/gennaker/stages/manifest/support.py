"""What the manifest stages share: the kubernetes provider of a stage, manifests from text or an
artifact, artifacts bound to expected artifact ids, and the manifest names a stage acts on."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Protocol

import yaml

from gennaker import expressions as ex
from gennaker.artifacts import ArtifactError, manifest_text
from gennaker.engine.contracts import TaskRun
from gennaker.stages.cloud.support import BadStage, provider_of


class ManifestReader(Protocol):
    """The live reads a manifest provider offers besides the CloudProvider protocol."""

    def manifest(self, account: str, location: str, name: str) -> dict[str, Any] | None: ...

    def cluster_manifests(
        self, account: str, location: str, kind: str, app: str, cluster: str
    ) -> list[dict[str, Any]]: ...

    def dynamic_target(
        self, account: str, location: str, kind: str, app: str, cluster: str, criteria: str
    ) -> dict[str, Any] | None: ...


def manifest_provider(run: TaskRun) -> tuple[Any, ManifestReader, str]:
    """(provider, its manifest reads, account) of a manifest stage."""
    ctx = dict(run.context)
    ctx.setdefault("cloudProvider", "kubernetes")
    provider, account = provider_of(run, ctx)
    if not hasattr(provider, "manifest") or not hasattr(provider, "dynamic_target"):
        raise BadStage(
            f"cloud provider {provider.id!r} does not deploy manifests (use cloudProvider kubernetes)"
        )
    reader: ManifestReader = provider  # type: ignore[assignment]
    return provider, reader, account


def _artifact_lists(run: TaskRun) -> list[Any]:
    trigger = run.execution.trigger if isinstance(run.execution.trigger, Mapping) else {}
    return [
        run.context.get("resolvedExpectedArtifacts"),
        trigger.get("resolvedExpectedArtifacts"),
        *[s.outputs.get("resolvedExpectedArtifacts") for s in run.execution.stages],
    ]


def bound_artifact(run: TaskRun, expected_id: str) -> dict[str, Any] | None:
    """The artifact bound to an expected artifact id (stage, trigger, then other stages)."""
    for items in _artifact_lists(run):
        for item in items or []:
            if isinstance(item, Mapping) and item.get("id") == expected_id:
                bound = item.get("boundArtifact")
                if isinstance(bound, Mapping) and bound:
                    artifact = dict(bound)
                    raw_match = item.get("matchArtifact")
                    match: Mapping[str, Any] = raw_match if isinstance(raw_match, Mapping) else {}
                    if not artifact.get("artifactAccount") and match.get("artifactAccount"):
                        artifact["artifactAccount"] = match["artifactAccount"]
                    return artifact
    return None


def visible_artifacts(run: TaskRun) -> list[dict[str, Any]]:
    """Every artifact the stage can see (Orca's optional artifacts): trigger's, then stages' outputs."""
    trigger = run.execution.trigger if isinstance(run.execution.trigger, Mapping) else {}
    found: list[dict[str, Any]] = []
    for items in [trigger.get("artifacts"), *[s.outputs.get("artifacts") for s in run.execution.stages]]:
        found.extend(dict(a) for a in items or [] if isinstance(a, Mapping) and a.get("type"))
    return found


def required_artifacts(run: TaskRun) -> list[dict[str, Any]]:
    """``requiredArtifactIds`` resolved and ``requiredArtifacts`` as given; BadStage naming an unbound id."""
    result: list[dict[str, Any]] = []
    for index, expected in enumerate(run.context.get("requiredArtifactIds") or []):
        artifact = bound_artifact(run, str(expected))
        if artifact is None:
            raise BadStage(
                f"requiredArtifactIds[{index}]: no artifact is bound to expected artifact {expected!r}"
            )
        result.append(artifact)
    for index, item in enumerate(run.context.get("requiredArtifacts") or []):
        artifact = item.get("artifact") if isinstance(item, Mapping) else None
        if isinstance(item, Mapping) and not artifact and item.get("expectedArtifactId"):
            artifact = bound_artifact(run, str(item["expectedArtifactId"]))
        if not isinstance(artifact, Mapping):
            raise BadStage(f"requiredArtifacts[{index}]: no artifact is bound")
        result.append(dict(artifact))
    return result


def fetch_text(run: TaskRun, artifact: Mapping[str, Any], where: str) -> str:
    """An artifact's text: through the artifact accounts when this Gennaker has them, else
    ``embedded/base64`` decoded here."""
    accounts = getattr(run.services, "artifacts", None)
    if accounts is not None and hasattr(accounts, "fetch"):
        try:
            data = accounts.fetch(artifact)
        except Exception as exc:  # the artifact package's errors name the account and artifact
            raise BadStage(f"{where}: {exc}") from None
        try:  # a git/repo download is a tarball: its YAML files, as one multi-document stream
            return manifest_text(bytes(data), artifact)
        except ArtifactError as exc:
            raise BadStage(f"{where}: {exc.message}") from None
    if artifact.get("type") != "embedded/base64":
        raise BadStage(f"{where}: artifacts of type {artifact.get('type')!r} cannot be fetched here")
    try:
        return base64.b64decode(str(artifact.get("reference") or ""), validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise BadStage(f"{where}: the embedded/base64 artifact is not base64 text: {exc}") from None


def parse_manifests(text: str, where: str) -> list[Any]:
    """Multi-document YAML (empty documents skipped); BadStage with the parser's message."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise BadStage(f"Failure parsing manifest from {where}: {exc}") from None
    for index, doc in enumerate(documents):
        if not isinstance(doc, dict):
            raise BadStage(
                f"Failure parsing manifest from {where}: document {index} is a {type(doc).__name__}, not an object"
            )
    return documents


def stage_manifests(
    run: TaskRun, *, key: str = "manifests", artifact_id_key: str = "manifestArtifactId"
) -> list[Any]:
    """The manifests of a stage: ``manifests`` (source text), else the manifest artifact."""
    source = str(run.context.get("source") or "text")
    artifact: Mapping[str, Any] | None = None
    # As Orca's ManifestEvaluator: ``source`` decides (Deck keeps a stale artifact id after
    # switching to text); a patch names no source when it carries an artifact id only.
    wants_artifact = source == "artifact" or (
        "source" not in run.context and run.context.get(artifact_id_key)
    )
    if wants_artifact and run.context.get(artifact_id_key):
        artifact = bound_artifact(run, str(run.context[artifact_id_key]))
        if artifact is None:
            raise BadStage(
                f"{artifact_id_key}: no artifact is bound to expected artifact {run.context[artifact_id_key]!r}"
            )
    elif isinstance(run.context.get("manifestArtifact"), Mapping) and wants_artifact:
        artifact = run.context["manifestArtifact"]
    if wants_artifact and artifact is None:
        raise BadStage(f"source is 'artifact' but neither {artifact_id_key} nor manifestArtifact is given")
    if artifact is not None:
        if not artifact.get("artifactAccount") and run.context.get("manifestArtifactAccount"):
            artifact = {**artifact, "artifactAccount": run.context["manifestArtifactAccount"]}
        where = f"artifact {artifact.get('name') or artifact.get('reference') or artifact.get('type')}"
        documents = parse_manifests(fetch_text(run, artifact, artifact_id_key), where)
        if run.context.get("skipExpressionEvaluation") is True:
            return documents
        # Orca evaluates a fetched manifest's expressions like the stage's own (ManifestEvaluator).
        ctx = run.services.evaluator.context(run.execution, run.stage)
        evaluated, _ = ex.evaluate_stage_context({"manifests": documents}, ctx)
        return list(evaluated["manifests"])
    manifests = run.context.get(key)
    if isinstance(manifests, str):
        return parse_manifests(manifests, key)
    if not isinstance(manifests, list) or not manifests:
        raise BadStage(
            f"{key}: at least one manifest is required (or source 'artifact' with {artifact_id_key})"
        )
    for index, manifest in enumerate(manifests):
        if not isinstance(manifest, Mapping):
            raise BadStage(f"{key}[{index}]: a manifest must be an object, got {type(manifest).__name__}")
    return list(manifests)


def names_by_namespace(ctx: Mapping[str, Any]) -> dict[str, list[str]]:
    """What a stage acts on: ``outputs.manifestNamesByNamespace``, else ``manifestName`` + ``location``."""
    found = ctx.get("outputs.manifestNamesByNamespace") or ctx.get("manifestNamesByNamespace")
    if isinstance(found, Mapping) and found:
        return {str(k): [str(n) for n in v] for k, v in found.items()}
    if ctx.get("manifestName"):
        return {str(ctx.get("location") or ""): [str(ctx["manifestName"])]}
    return {}
