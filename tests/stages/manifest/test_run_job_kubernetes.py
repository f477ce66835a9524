"""``runJob`` with ``cloudProvider: kubernetes`` on the real control plane: the Job is created by
the provider, completes when its pod does, and its propertyFile container's log feeds later stages.

No container runs here (no kubelet: the API server's ``pods/log`` fails), so the test marks the
Job's pod Succeeded through the API itself and gives the log through the wait task's pluggable
``log_reader``, which the product points at ``kubectl logs job/<name> -c <container>``; the reader
here records what it was asked for, so the job name, namespace and container are still checked."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from gennaker.model.status import ExecutionStatus
from gennaker.stages.run_job_kubernetes import WaitOnKubernetesJobTask
from tests.stages.manifest.conftest import ACCOUNT, KubeHarness

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("kube")]
LOG = 'starting\nSPINNAKER_PROPERTY_VERSION=1.4.2\nSPINNAKER_CONFIG_JSON={"ready": true, "shards": 3}\n'


def _job(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": f"{name}-"},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "migrate", "image": "busybox"}]}
            },
        },
    }


def _complete_pods(kube: KubeHarness) -> bool:
    """Mark the job's pods Succeeded (what a kubelet would report once the container exited 0)."""
    pods = kube.cluster.list("pod", kube.namespace, selector="job-name")
    for pod in pods:
        if (pod.get("status") or {}).get("phase") == "Succeeded":
            continue
        path = f"/api/v1/namespaces/{kube.namespace}/pods/{pod['metadata']['name']}/status"
        status = {"status": {"phase": "Succeeded", "containerStatuses": [{
            "name": "migrate", "image": "busybox", "imageID": "", "ready": False, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}}  # fmt: skip
        kube.cluster.api("PATCH", path, status, "application/strategic-merge-patch+json")
    return bool(pods)


def test_a_kubernetes_run_job_reads_its_properties(kube: KubeHarness) -> None:
    asked: list[tuple[str, str, str, str]] = []

    def reader(provider: Any, account: str, namespace: str, job: str, container: str) -> str:
        asked.append((account, namespace, job, container))
        return LOG

    task = kube.services.registry.task("waitOnKubernetesJobTask")
    assert isinstance(task, WaitOnKubernetesJobTask)
    task.log_reader = reader
    stage = {
        "refId": "1",
        "type": "runJob",
        "name": "Run Job (Manifest)",
        "cloudProvider": "kubernetes",
        "account": ACCOUNT,
        "application": "shop",
        "source": "text",
        "manifest": {
            **_job("migrate"),
            "metadata": {"generateName": "migrate-", "namespace": kube.namespace},
        },
        "consumeArtifactSource": "propertyFile",
        "propertyFile": "migrate",
    }
    check = {"refId": "2", "requisiteStageRefIds": ["1"], "type": "noop", "seen": "${version}-${shards}"}
    execution = kube.start([stage, check], application="shop")
    kube.run_until(lambda: _complete_pods(kube) and kube.get(execution.id).status.is_complete)
    done = kube.get(execution.id)
    job_stage = done.stage_by_ref_id("1")
    assert job_stage is not None
    assert done.status == ExecutionStatus.SUCCEEDED, job_stage.context.get("exception")
    [[job_name]] = job_stage.context["deploy.jobs"].values()
    plain = job_name.split(" ", 1)[1]
    assert plain.startswith("migrate-") and job_stage.context["jobStatus"]["jobState"] == "Succeeded"
    assert asked == [(ACCOUNT, kube.namespace, plain, "migrate")]
    assert job_stage.outputs["propertyFileContents"] == {"version": "1.4.2", "ready": True, "shards": 3}
    second = done.stage_by_ref_id("2")
    assert second is not None and second.context["seen"] == "1.4.2-3"


def test_a_run_job_manifest_must_be_one_job(kube: KubeHarness) -> None:
    stage = {"refId": "1", "type": "runJob", "cloudProvider": "kubernetes", "account": ACCOUNT,
             "manifest": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}}  # fmt: skip
    done = kube.run_pipeline([stage])
    assert done.status == ExecutionStatus.TERMINAL
    assert "exactly one manifest of kind Job (got Pod)" in str(done.stages[0].context["exception"])


def test_a_consumed_artifact_becomes_the_outputs(kube: KubeHarness) -> None:
    report = base64.b64encode(b'{"migrated": 12, "schema": "v7"}').decode()
    expected = {"id": "report", "matchArtifact": {"type": "embedded/base64", "name": "report"},
                "useDefaultArtifact": True,
                "defaultArtifact": {"type": "embedded/base64", "name": "report", "reference": report}}  # fmt: skip
    stage = {
        "refId": "1",
        "type": "runJob",
        "cloudProvider": "kubernetes",
        "account": ACCOUNT,
        "manifest": {**_job("report"), "metadata": {"generateName": "report-", "namespace": kube.namespace}},
        "consumeArtifactSource": "artifact",
        "consumeArtifactId": "report",
    }
    execution = kube.start([stage], application="shop", expectedArtifacts=[expected])
    kube.run_until(lambda: _complete_pods(kube) and kube.get(execution.id).status.is_complete)
    done = kube.get(execution.id)
    assert done.status == ExecutionStatus.SUCCEEDED, done.stages[0].context.get("exception")
    assert done.stages[0].outputs["migrated"] == 12 and done.stages[0].outputs["schema"] == "v7"
