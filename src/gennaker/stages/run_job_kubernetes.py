"""``runJob`` with ``cloudProvider: kubernetes`` (Deck's runJobManifest, Orca's RunJobStage with the
Kubernetes decorator): ``runJob`` deploys one ``Job`` manifest (inline ``manifest`` or from an
artifact) through the kubernetes provider, ``waitOnJobCompletion`` polls it every 10 s until its
``Complete`` or ``Failed`` condition, and with ``propertyFile`` (the *container name* whose log is
parsed) reads that container's log and turns its ``SPINNAKER_PROPERTY_*`` / ``SPINNAKER_CONFIG_JSON``
lines into context and outputs, as local jobs do (run_job_properties.py).

Logs come from the task's ``log_reader``: by default ``kubectl logs job/<name> -c <container>``
through the account (the API server's ``pods/log``). Where no kubelet serves logs (the test control
plane), the reader is replaced: see tests/stages/manifest/test_run_job_kubernetes.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from gennaker.artifacts import ArtifactAccounts, ArtifactError
from gennaker.engine.artifact_lookup import bound_artifact_for_id
from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.stages._common import ATTEMPT_ID, failed, new_attempt
from gennaker.stages.bind_artifacts import TASK_NAME as BIND_TASK
from gennaker.stages.cloud.support import BadStage, submit
from gennaker.stages.manifest.support import manifest_provider, stage_manifests
from gennaker.stages.run_job_properties import BadPropertyLine, parse_properties

#: (provider, account, namespace, job name, container) -> the container's log text.
LogReader = Callable[[Any, str, str, str, str], str]


def kubectl_logs(provider: Any, account: str, namespace: str, job: str, container: str) -> str:
    """The container's log through the API server (``kubectl logs job/<name> -c <container>``)."""
    kubectl = provider.kubectls[account]
    return str(kubectl.run(["logs", "-n", namespace, f"job/{job}", "-c", container]))


def _job_manifest(run: TaskRun) -> dict[str, Any]:
    manifest = run.context.get("manifest")
    if isinstance(manifest, Mapping) and str(run.context.get("source") or "text") != "artifact":
        documents: list[Any] = [dict(manifest)]
    else:
        documents = stage_manifests(run, key="manifests")
    jobs = [d for d in documents if isinstance(d, Mapping) and d.get("kind") == "Job"]
    if len(documents) != 1 or len(jobs) != 1:
        kinds = ", ".join(str(d.get("kind")) for d in documents if isinstance(d, Mapping)) or "none"
        raise BadStage(f"manifest: a Kubernetes run job takes exactly one manifest of kind Job (got {kinds})")
    job = jobs[0]
    meta = dict(job.get("metadata") or {})
    if not meta.get("name"):
        prefix = meta.pop("generateName", None)
        if not prefix:
            raise BadStage("manifest.metadata: a Job needs a name or a generateName")
        # One name per stage attempt, so a retried operation finds the Job it created.
        suffix = hashlib.sha256(
            f"{run.stage.id}:{run.stage.context.get(ATTEMPT_ID, '')}".encode()
        ).hexdigest()[:5]
        meta["name"] = f"{prefix}{suffix}"
    return {**job, "metadata": meta}


class RunKubernetesJobTask(BaseTask):
    """Deploys the Job (one idempotent deployManifest operation)."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Submit and record ``deploy.jobs``."""
        try:
            provider, _, account = manifest_provider(run)
            job = _job_manifest(run)
        except BadStage as exc:
            return failed(str(exc))
        namespace = (job.get("metadata") or {}).get("namespace") or run.context.get("namespaceOverride") or ""
        description = {
            "account": account,
            "cloudProvider": provider.id,
            "source": "text",
            "manifests": [job],
            "moniker": {"app": run.execution.application},
            "namespaceOverride": namespace or None,
            "enableTraffic": True,
            "requiredArtifacts": [],
            "optionalArtifacts": [],
        }
        record, context = await submit(run, provider, account, "deployManifest", description)
        if record.status != "SUCCEEDED" or record.result is None:
            return failed(record.error or "the Job could not be created", context)
        by_namespace = record.result.get("manifestNamesByNamespace") or {}
        context["deploy.jobs"] = by_namespace
        context["outputs.manifestNamesByNamespace"] = by_namespace
        return TaskResult.succeeded(context)


class WaitOnKubernetesJobTask(BaseTask):
    """RUNNING until the Job completes; SUCCEEDED with its properties, or TERMINAL."""

    backoff_ms = 10_000
    timeout_ms: int | None = 2 * 60 * 60 * 1000

    def __init__(self, log_reader: LogReader = kubectl_logs) -> None:
        self.log_reader = log_reader

    async def execute(self, run: TaskRun) -> TaskResult:
        """Read the Job; on completion parse the propertyFile container's log."""
        try:
            provider, reader, account = manifest_provider(run)
        except BadStage as exc:
            return failed(str(exc))
        jobs = run.context.get("deploy.jobs") or {}
        if not isinstance(jobs, Mapping) or not jobs:
            return failed("no Job was deployed (deploy.jobs is empty)")
        namespace, names = next(iter(jobs.items()))
        name = str(names[0])
        view = reader.manifest(account, str(namespace), name)
        if view is None:
            return failed(f"Job {name} in namespace {namespace} no longer exists")
        live = view.get("manifest") or {}
        conditions = {c.get("type"): c for c in (live.get("status") or {}).get("conditions") or []}
        state = "Running"
        if (conditions.get("Complete") or {}).get("status") == "True":
            state = "Succeeded"
        elif (conditions.get("Failed") or {}).get("status") == "True":
            state = "Failed"
        plain = name.split(" ", 1)[-1]
        status = {"name": plain, "location": namespace, "account": account, "jobState": state,
                  "provider": "kubernetes", "completionDetails": {}}  # fmt: skip
        if state == "Running":
            return TaskResult.running({"jobStatus": status})
        if state == "Failed":
            message = (conditions.get("Failed") or {}).get("message") or "the Job failed"
            return failed(f"Job {plain} failed: {message}", {"jobStatus": status})
        context: dict[str, Any] = {"jobStatus": status}
        container = run.context.get("propertyFile")
        if not container:
            return TaskResult.succeeded(context)
        try:
            text = self.log_reader(provider, account, str(namespace), plain, str(container))
            properties = parse_properties(text.splitlines())
        except BadPropertyLine as exc:
            return failed(f"propertyFile {container}: {exc}", context)
        except Exception as exc:  # the log could not be read: say from where
            return failed(f"could not read the log of container {container!r} of Job {plain}: {exc}", context)
        context.update(properties)
        context["propertyFileContents"] = properties
        return TaskResult.succeeded(context, {**properties, "propertyFileContents": properties})


class ConsumeArtifactTask(BaseTask):
    """``consumeArtifactSource: artifact``: the JSON object in the artifact named by
    ``consumeArtifactId`` (or given as ``consumeArtifact``) becomes the stage's outputs (Orca's
    ConsumeArtifactTask)."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Fetch and parse; TERMINAL naming the artifact when it is missing or not a JSON object."""
        if run.context.get("consumeArtifactSource") != "artifact":
            return TaskResult.succeeded()
        artifact_id = run.context.get("consumeArtifactId")
        artifact = bound_artifact_for_id(run.execution, run.stage, str(artifact_id)) if artifact_id else None
        if artifact is None and isinstance(run.context.get("consumeArtifact"), Mapping):
            artifact = dict(run.context["consumeArtifact"])
        if artifact is None:
            return failed(f"consumeArtifactId: no artifact is bound to expected artifact {artifact_id!r}")
        if run.context.get("consumeArtifactAccount") and not artifact.get("artifactAccount"):
            artifact["artifactAccount"] = run.context["consumeArtifactAccount"]
        found = getattr(run.services, "artifacts", None)
        accounts = (
            found
            if isinstance(found, ArtifactAccounts)
            else ArtifactAccounts.from_settings(run.services.settings)
        )
        try:
            value = orjson.loads(accounts.fetch(artifact))
        except ArtifactError as exc:
            return failed(f"consumeArtifact: {exc.message}")
        except orjson.JSONDecodeError as exc:
            return failed(f"consumeArtifact: artifact {artifact.get('name')!r} is not JSON ({exc})")
        if not isinstance(value, dict):
            return failed(f"consumeArtifact: artifact {artifact.get('name')!r} must hold a JSON object")
        return TaskResult.succeeded(value, value)


class KubernetesRunJobStage(BaseStage):
    """runJob -> [waitOnJobCompletion] -> bindProducedArtifacts -> [consumeArtifact]."""

    type = "runJob_kubernetes"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """Orca's tasks for a Kubernetes run job."""
        new_attempt(stage)
        specs = [TaskSpec("runJob", "runKubernetesJobTask")]
        if stage.context.get("waitForCompletion", True) is not False:
            specs.append(TaskSpec("waitOnJobCompletion", "waitOnKubernetesJobTask"))
        specs.append(TaskSpec(BIND_TASK, BIND_TASK))
        if stage.context.get("consumeArtifactSource") == "artifact":
            specs.append(TaskSpec("consumeArtifact", "consumeKubernetesJobArtifactTask"))
        return specs


def register(registry: Registry, settings: Any) -> None:
    """Add the kubernetes runJob flavour where the kubernetes provider is configured (elsewhere a
    runJob for kubernetes is refused at save time, naming the providers there are)."""
    if not (getattr(settings, "providers", None) or {}).get("kubernetes"):
        return
    registry.add_task("runKubernetesJobTask", RunKubernetesJobTask())
    registry.add_task("waitOnKubernetesJobTask", WaitOnKubernetesJobTask())
    registry.add_task("consumeKubernetesJobArtifactTask", ConsumeArtifactTask())
    registry.add_stage(KubernetesRunJobStage())
