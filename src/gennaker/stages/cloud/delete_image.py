"""``deleteImage`` (Orca's DeleteImageStage): delete images by id, one provider operation each,
then wait until the read model no longer lists them. Also an ad-hoc task (a Gate orchestration
whose job is ``{"type": "deleteImage", "cloudProvider", "credentials", "region", "imageIds"}``).

A provider refuses to delete an image a server group still uses (the local provider names them),
which ends the stage TERMINAL with that message.
"""

from __future__ import annotations

from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.providers.protocol import IMAGES
from gennaker.stages._common import failed, new_attempt
from gennaker.stages.cloud.support import BadStage, clouddriver, provider_of, region_of, submit


def _image_ids(run: TaskRun) -> list[str] | str:
    raw = run.context.get("imageIds")
    if isinstance(raw, str) and raw:
        raw = [raw]
    if not isinstance(raw, list) or not raw or not all(isinstance(i, str) and i for i in raw):
        return 'imageIds must be a list of image ids, like ["sha256:..."]'
    return list(dict.fromkeys(raw))


class DeleteImageTask(BaseTask):
    """Submits ``deleteImage`` for each image id (Orca's DeleteImageTask)."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """One operation per image, in order; the first refusal fails the stage."""
        ids = _image_ids(run)
        if isinstance(ids, str):
            return failed(ids)
        try:
            provider, account = provider_of(run)
            region = region_of(run, provider, account)
        except BadStage as exc:
            return failed(str(exc))
        context: dict[str, Any] = {}
        for index, image_id in enumerate(ids):
            description = {"credentials": account, "region": region, "imageId": image_id}
            record, context = await submit(run, provider, account, "deleteImage", description, index=index)
            if record.status != "SUCCEEDED":
                return failed(record.error or f"deleting image {image_id} failed", context)
        context.update(
            {"notification.type": "deleteImage", "delete.region": region, "delete.account.name": account}
        )
        return TaskResult.succeeded(context)


class MonitorDeleteImageTask(BaseTask):
    """Waits until no image id of the stage is in the read model (Orca's MonitorDeleteImageTask)."""

    backoff_ms = 5_000
    timeout_ms: int | None = 5 * 60 * 1000
    overridable_timeout = True

    async def execute(self, run: TaskRun) -> TaskResult:
        """``delete.image.ids`` lists those gone; SUCCEEDED when all are."""
        ids = _image_ids(run)
        if isinstance(ids, str):
            return failed(ids)
        provider, account = provider_of(run)
        await clouddriver(run).cache.refresh(provider, account)
        present = {
            i.get("imageId")
            for i in clouddriver(run).cache.query(IMAGES, account=account, cloud_provider=provider.id)
        }
        gone = [i for i in ids if i not in present]
        context = {"delete.image.ids": gone}
        return TaskResult.succeeded(context) if len(gone) == len(ids) else TaskResult.running(context)


class DeleteImageStage(BaseStage):
    """deleteImage -> monitorDeleteImage."""

    type = "deleteImage"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """Delete, then wait for the images to be gone."""
        new_attempt(stage)
        return [TaskSpec("deleteImage", "deleteImage"), TaskSpec("monitorDeleteImage", "monitorDeleteImage")]

    def prepare_for_restart(self, stage: Stage) -> None:
        """A restart acts again."""
        for key in ("kato.tasks", "kato.last.task.id", "delete.image.ids"):
            stage.context.pop(key, None)


def register(registry: Registry, settings: Any) -> None:
    """Add deleteImage and its tasks."""
    registry.add_task("deleteImage", DeleteImageTask())
    registry.add_task("monitorDeleteImage", MonitorDeleteImageTask())
    registry.add_stage(DeleteImageStage())
