"""Clouddriver's stability rules per kind (the handlers' ``status()``): the ``status`` of
``GET /manifests/...`` as ``{stable, failed, available, paused}``, each ``{state, message?}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _state(state: bool, message: str | None = None) -> dict[str, Any]:
    return {"state": state, **({"message": message} if message else {})}


def _result(
    unstable: str | None = None,
    failed: str | None = None,
    paused: bool = False,
    unavailable: str | None = None,
) -> dict[str, Any]:
    return {
        "stable": _state(unstable is None and failed is None, unstable),
        "failed": _state(failed is not None, failed),
        "available": _state(unavailable is None, unavailable),
        "paused": _state(paused),
    }


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for condition in status.get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == kind:
            return condition
    return None


def _generation(manifest: Mapping[str, Any], status: Mapping[str, Any]) -> str | None:
    generation = (manifest.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and (observed is None or int(observed) < int(generation)):
        return "Waiting for status generation to match updated object generation"
    return None


def _n(status: Mapping[str, Any], key: str) -> int:
    value = status.get(key)
    return int(value) if isinstance(value, int) else 0


def _deployment(manifest: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
    spec = manifest.get("spec") or {}
    paused = bool(spec.get("paused"))
    progressing = _condition(status, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return _result(failed="Deployment exceeded its progress deadline", paused=paused)
    available = _condition(status, "Available")
    unavailable = (
        "Not all replica sets are available"
        if available is not None and available.get("status") == "False"
        else None
    )
    if paused:
        return _result("Deployment is paused", paused=True, unavailable=unavailable)
    desired = int(spec.get("replicas", 1))
    waiting = _generation(manifest, status)
    if waiting is None and _n(status, "updatedReplicas") < desired:
        waiting = "Waiting for all replicas to be updated"
    if waiting is None and _n(status, "replicas") > _n(status, "updatedReplicas"):
        waiting = "Waiting for old replicas to finish termination"
    if waiting is None and _n(status, "availableReplicas") < desired:
        waiting = "Waiting for all replicas to be available"
    if waiting is None and _n(status, "readyReplicas") < desired:
        waiting = "Waiting for all replicas to be ready"
    return _result(waiting, unavailable=unavailable)


def _replica_set(manifest: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
    desired = int((manifest.get("spec") or {}).get("replicas", 1))
    waiting = _generation(manifest, status)
    if waiting is None and _n(status, "fullyLabeledReplicas") < desired:
        waiting = "Waiting for all replicas to be fully-labeled"
    if waiting is None and _n(status, "availableReplicas") < desired:
        waiting = "Waiting for all replicas to be available"
    if waiting is None and _n(status, "readyReplicas") < desired:
        waiting = "Waiting for all replicas to be ready"
    return _result(waiting)


def _stateful_set(manifest: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
    spec = manifest.get("spec") or {}
    desired = int(spec.get("replicas", 1))
    waiting = _generation(manifest, status)
    rolling = ((spec.get("updateStrategy") or {}).get("type") or "RollingUpdate") == "RollingUpdate"
    if waiting is None and _n(status, "readyReplicas") < desired:
        waiting = "Waiting for all updated replicas to be ready"
    if waiting is None and rolling and _n(status, "updatedReplicas") < desired:
        waiting = "Waiting for all updated replicas to be scheduled"
    if waiting is None and rolling and status.get("currentRevision") != status.get("updateRevision"):
        waiting = "Waiting for the updated revision to match the current revision"
    return _result(waiting)


def _daemon_set(manifest: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
    desired = _n(status, "desiredNumberScheduled")
    waiting = _generation(manifest, status)
    if waiting is None and _n(status, "updatedNumberScheduled") < desired:
        waiting = "Waiting for all updated replicas to be scheduled"
    if waiting is None and _n(status, "numberAvailable") < desired:
        waiting = "Waiting for all replicas to be available"
    if waiting is None and _n(status, "numberReady") < desired:
        waiting = "Waiting for all replicas to be ready"
    return _result(waiting)


def _job(manifest: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
    failed = _condition(status, "Failed")
    if failed and failed.get("status") == "True":
        return _result(failed=str(failed.get("message") or failed.get("reason") or "Job failed"))
    complete = _condition(status, "Complete")
    if complete and complete.get("status") == "True":
        return _result()
    return _result("Waiting for jobs to finish")


def _pod(manifest: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
    phase = status.get("phase")
    if phase == "Failed":
        return _result(failed=str(status.get("message") or status.get("reason") or "Pod failed"))
    if phase == "Succeeded":
        return _result()
    ready = _condition(status, "Ready")
    if phase == "Running" and ready is not None and ready.get("status") == "True":
        return _result()
    return _result("Waiting for the pod to be running and ready")


_RULES = {
    "deployment": _deployment,
    "replicaset": _replica_set,
    "statefulset": _stateful_set,
    "daemonset": _daemon_set,
    "job": _job,
    "pod": _pod,
}


def manifest_status(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The status of a live resource; kinds without a rule are stable at once."""
    rule = _RULES.get(str(manifest.get("kind", "")).lower())
    raw = manifest.get("status")
    status: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    return rule(manifest, status) if rule else _result()
