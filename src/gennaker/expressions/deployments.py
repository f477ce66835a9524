"""Helpers about what a pipeline deployed: ``#deployedServerGroups``, ``#manifestLabelValue``,
``#triggerResolvedArtifact(ByType)`` and ``#resolvedArtifacts`` (after Orca's providers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.expressions.errors import ExpressionError, helper_error
from gennaker.expressions.helper_support import check_arity, execution_of, stages_of, text_param
from gennaker.expressions.limits import Env
from gennaker.expressions.objects import is_sequence

DEPLOY_STAGE_TYPES = ("deploy", "createServerGroup", "cloneServerGroup", "rollingPush")


def deployed_server_groups(env: Env, args: list[Any]) -> list[dict[str, Any]]:
    """``#deployedServerGroups(nameOrId...)``: what SUCCEEDED deploy stages deployed."""
    wanted = [text_param(a) for a in args]
    result: list[dict[str, Any]] = []
    for candidate in stages_of(env, "deployedServerGroups"):
        context = candidate.get("context")
        if (
            candidate.get("type") not in DEPLOY_STAGE_TYPES
            or not isinstance(context, Mapping)
            or "deploy.server.groups" not in context
            or candidate.get("status") != "SUCCEEDED"
            or (wanted and candidate.get("name") not in wanted and candidate.get("id") not in wanted)
        ):
            continue
        region = context.get("region")
        if region is None and isinstance(context.get("availabilityZones"), Mapping):
            region = next(iter(context["availabilityZones"]), None)
        if region is None:
            continue
        details: dict[str, Any] = {
            "account": context.get("account"),
            "capacity": context.get("capacity"),
            "parentStage": context.get("parentStage"),
            "region": region,
        }
        for extra in context.get("deploymentDetails") or []:
            if isinstance(extra, Mapping) and extra.get("region") == region:
                details.update(extra)
        groups = context.get("deploy.server.groups")
        in_region = groups.get(region) if isinstance(groups, Mapping) else None
        if is_sequence(in_region) and in_region:
            details["serverGroup"] = in_region[0]
        deployments: list[Any] = []
        for task in context.get("kato.tasks") or []:
            for outcome in (task.get("resultObjects") if isinstance(task, Mapping) else None) or []:
                if isinstance(outcome, Mapping):
                    deployments.extend(outcome.get("deployments") or [])
        details["deployments"] = deployments
        result.append(details)
    return result


def manifest_label_value(env: Env, args: list[Any]) -> Any:
    """``#manifestLabelValue(stageName, kind, labelKey)`` from a SUCCEEDED deployManifest stage."""
    check_arity("manifestLabelValue", args, 3)
    name, kind, label = (text_param(a) for a in args)
    if kind not in ("Deployment", "ReplicaSet"):
        raise ExpressionError(
            "Only Deployments and ReplicaSets are valid kinds for this function",
            "java.lang.IllegalArgumentException",
        )
    if label is None:
        raise ExpressionError(
            "A labelKey is required for this function", "java.lang.IllegalArgumentException"
        )
    found = next(
        (
            s
            for s in stages_of(env, "manifestLabelValue")
            if s.get("name") == name and s.get("type") == "deployManifest" and s.get("status") == "SUCCEEDED"
        ),
        None,
    )
    if found is None:
        raise helper_error("A valid Deploy Manifest stage name is required for this function")
    context = found.get("context") if isinstance(found.get("context"), Mapping) else {}
    manifests = context.get("outputs.manifests") if isinstance(context, Mapping) else None
    if not manifests:
        raise helper_error("No manifest could be found in the context of the specified stage")
    manifest = next((m for m in manifests if isinstance(m, Mapping) and m.get("kind") == kind), None)
    if manifest is None:
        raise helper_error(f"No manifest of kind {kind} could be found on the context of the specified stage")
    node: Any = manifest
    for key in ("spec", "template", "metadata", "labels", label):
        node = node.get(key) if isinstance(node, Mapping) else None
    if node is None:
        raise helper_error(
            "No label of specified key found on matching manifest spec.template.metadata.labels"
        )
    return node


def resolved_artifact(env: Env, name: str, args: list[Any], field: str) -> Any:
    """The trigger's first bound artifact whose ``field`` equals the argument."""
    check_arity(name, args, 1)
    wanted = text_param(args[0])
    execution = execution_of(env, name)
    trigger = execution.get("trigger")
    expected = trigger.get("resolvedExpectedArtifacts") if isinstance(trigger, Mapping) else None
    for entry in expected or []:
        bound = entry.get("boundArtifact") if isinstance(entry, Mapping) else None
        if isinstance(bound, Mapping) and wanted is not None and bound.get(field) == wanted:
            return bound
    raise helper_error(
        f"Unable to locate resolved artifact {wanted} in trigger execution {execution.get('id')}."
    )


def resolved_artifacts(env: Env, args: list[Any]) -> list[Any]:
    """``#resolvedArtifacts()``: every stage's ``outputs.artifacts``."""
    check_arity("resolvedArtifacts", args, 0)
    found: list[Any] = []
    for candidate in stages_of(env, "resolvedArtifacts"):
        outputs = candidate.get("outputs")
        artifacts = outputs.get("artifacts") if isinstance(outputs, Mapping) else None
        if is_sequence(artifacts):
            found.extend(artifacts)
    return env.new_list(found)
