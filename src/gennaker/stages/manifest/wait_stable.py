"""``waitForManifestToStabilize`` (Orca's WaitForManifestStableTask): every manifest the stage
acted on is read live until all are stable (SUCCEEDED) or one failed (TERMINAL with its messages)."""

from __future__ import annotations

from gennaker.engine.contracts import BaseTask, TaskResult, TaskRun
from gennaker.providers.protocol import OperationError
from gennaker.stages._common import failed
from gennaker.stages.cloud.support import BadStage
from gennaker.stages.manifest.support import manifest_provider, names_by_namespace


class WaitForManifestStableTask(BaseTask):
    """Polls the live status of the stage's manifests."""

    backoff_ms = 2_000
    timeout_ms: int | None = 30 * 60_000

    async def execute(self, run: TaskRun) -> TaskResult:
        """Stable, failed, or not yet (RUNNING, with what each one waits for)."""
        try:
            _, reader, account = manifest_provider(run)
        except BadStage as exc:
            return failed(str(exc))
        if run.context.get("nothingSelected") is True:
            return TaskResult.succeeded({"stableManifests": [], "failedManifests": []})
        stable: list[dict[str, str]] = []
        failures: list[str] = []
        messages: list[str] = []
        for location, names in names_by_namespace(run.context).items():
            for name in names:
                try:
                    view = reader.manifest(account, location, name)
                except OperationError as exc:
                    messages.append(f"'{name}' in '{location}': {exc}")
                    continue
                if view is None:
                    messages.append(f"'{name}' in '{location}' does not exist yet")
                    continue
                status = view["status"]
                if status["failed"]["state"]:
                    failures.append(
                        f"'{name}' in '{location}': {status['failed'].get('message') or 'failed'}"
                    )
                elif status["stable"]["state"]:
                    stable.append({"manifestName": name, "location": location})
                else:
                    messages.append(
                        f"'{name}' in '{location}': {status['stable'].get('message') or 'waiting'}"
                    )
        context = {"messages": messages + failures, "stableManifests": stable, "failedManifests": failures}
        if failures:
            return failed("; ".join(failures), context)
        if messages:
            return TaskResult.running(context)
        return TaskResult.succeeded(context)
