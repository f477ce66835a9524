"""Clouddriver's stability rules per kind."""

from __future__ import annotations

from typing import Any

from gennaker.providers.kubernetes.status import manifest_status


def _deployment(status: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"generation": 2},
        "spec": {"replicas": 2, **spec},
        "status": status,
    }


def test_a_deployment_waits_for_generation_updates_and_availability() -> None:
    assert manifest_status(_deployment({"observedGeneration": 1}))["stable"]["message"].startswith(
        "Waiting for status generation"
    )
    waiting = manifest_status(_deployment({"observedGeneration": 2, "updatedReplicas": 2, "replicas": 3}))
    assert waiting["stable"] == {"state": False, "message": "Waiting for old replicas to finish termination"}
    ready = {
        "observedGeneration": 2,
        "updatedReplicas": 2,
        "replicas": 2,
        "availableReplicas": 2,
        "readyReplicas": 2,
    }
    assert manifest_status(_deployment(ready)) == {
        "stable": {"state": True},
        "failed": {"state": False},
        "available": {"state": True},
        "paused": {"state": False},
    }


def test_a_deployment_past_its_deadline_failed_and_a_paused_one_is_paused() -> None:
    deadline = {
        "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]
    }
    assert manifest_status(_deployment(deadline))["failed"] == {
        "state": True,
        "message": "Deployment exceeded its progress deadline",
    }
    assert manifest_status(_deployment({}, paused=True))["paused"] == {"state": True}


def test_jobs_pods_and_other_kinds() -> None:
    failed_job = {
        "kind": "Job",
        "status": {"conditions": [{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]},
    }
    assert manifest_status(failed_job)["failed"] == {"state": True, "message": "BackoffLimitExceeded"}
    assert manifest_status({"kind": "Job", "status": {}})["stable"]["state"] is False
    assert manifest_status({"kind": "Pod", "status": {"phase": "Succeeded"}})["stable"]["state"] is True
    assert manifest_status({"kind": "Pod", "status": {"phase": "Pending"}})["stable"]["state"] is False
    assert manifest_status({"kind": "Service"})["stable"]["state"] is True
    assert manifest_status({"kind": "ConfigMap"})["stable"]["state"] is True
