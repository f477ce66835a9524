"""``manualJudgment``: waits until someone decides, through Gate's
``PATCH /pipelines/{id}/stages/{stageId}`` with ``{judgmentStatus: continue|stop, judgmentInput}``.

Operations.patch_stage validates the judgment, merges it into the context, records
``lastModified.user`` and wakes the task at once; otherwise the task looks every 15 seconds.
"continue" (any case) ends the stage SUCCEEDED, "stop" TERMINAL (so ``failPipeline: false`` makes it
STOPPED). ``judgmentInput`` is what ``#judgment('stage name')`` returns. The default timeout is 72
hours; ``stageTimeoutMs`` replaces it. A restart clears the judgment.

Reminders: each entry of ``notifications`` whose ``when`` holds ``manualJudgment`` (or that has no
``when``, Spinnaker's older form) is due when the stage starts waiting and again every
``notifyEveryMs``. The task does not send anything: it records the moment each one fell due in the
entry's ``lastNotifiedByNotificationType.manualJudgment`` (Orca's field) and the latest in
``context.lastNotifiedAt``, and wakes up in time for the next one. With ``sendNotifications``,
the judgment itself is recorded the same way under ``manualJudgmentContinue``/``manualJudgmentStop``.
The notifier delivers them (see docs/stages.md). ``selectedStageRoles`` is stored only.
"""

from __future__ import annotations

import copy
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.stages._common import as_int, failed

WAITING = "manualJudgment"
CONTINUED = "manualJudgmentContinue"
STOPPED = "manualJudgmentStop"
_POLL_MS = 15_000
_MIN_POLL_MS = 1_000
_LAST = "lastNotifiedByNotificationType"


def _wants(notification: dict[str, Any], state: str) -> bool:
    when = notification.get("when")
    if isinstance(when, list) and when:
        return state in when
    return state == WAITING  # Spinnaker's older form: no `when`, reminders only


def record_due(notifications: Any, state: str, now_ms: int) -> tuple[list[Any] | None, bool, int | None]:
    """Mark the notifications due for ``state`` as notified now.

    Returns (the updated list, or None when nothing changed; whether any fell due; ms until the
    next repeat falls due, if any repeats)."""
    if not isinstance(notifications, list):
        return None, False, None
    updated = copy.deepcopy(notifications)
    any_due = False
    next_in: int | None = None
    for entry in updated:
        if not isinstance(entry, dict) or not _wants(entry, state):
            continue
        found = entry.get(_LAST)
        last_by_type: dict[str, Any] = found if isinstance(found, dict) else {}
        last = as_int(last_by_type.get(state))
        every = as_int(entry.get("notifyEveryMs")) or 0
        if last is None or (every > 0 and last + every <= now_ms):
            entry[_LAST] = {**last_by_type, state: now_ms}
            any_due = True
            last = now_ms
        if every > 0 and state == WAITING:
            remaining = last + every - now_ms
            next_in = remaining if next_in is None else min(next_in, remaining)
    return (updated if any_due else None), any_due, next_in


class WaitForJudgmentTask(BaseTask):
    """RUNNING until the judgment arrives."""

    pure = True
    backoff_ms = _POLL_MS
    timeout_ms: int | None = 72 * 3600 * 1000
    overridable_timeout = True

    async def execute(self, run: TaskRun) -> TaskResult:
        """Look at ``judgmentStatus``."""
        status = str(run.context.get("judgmentStatus") or "").strip().lower()
        now = run.now_ms
        stored = run.stage.context.get("notifications")
        if status in ("continue", "stop"):
            context: dict[str, Any] = {}
            if run.context.get("sendNotifications") is True:
                state = CONTINUED if status == "continue" else STOPPED
                updated, due, _ = record_due(stored, state, now)
                if due:
                    context.update(notifications=updated, lastNotifiedAt=now)
            if status == "continue":
                return TaskResult.succeeded(context)
            judge = (run.stage.last_modified or {}).get("user") or "anonymous"
            return failed(
                f"Stopped by manual judgment of {judge}",
                context,
                exception_type="ManualJudgmentStopped",
            )
        updated, due, next_in = record_due(stored, WAITING, now)
        context = {"notifications": updated, "lastNotifiedAt": now} if due else {}
        backoff = _POLL_MS if next_in is None else max(_MIN_POLL_MS, min(_POLL_MS, next_in))
        return TaskResult.running(context, backoff_ms=backoff)


class ManualJudgmentStage(BaseStage):
    """Waits for a person's decision."""

    type = "manualJudgment"

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """One waiting task."""
        return [TaskSpec("waitForJudgment", "waitForJudgmentTask")]

    def prepare_for_restart(self, stage: Stage) -> None:
        """Forget the previous judgment and its reminders: a restarted stage waits again."""
        for key in ("judgmentStatus", "judgmentInput", "lastModifiedBy", "lastNotifiedAt"):
            stage.context.pop(key, None)
        for entry in stage.context.get("notifications") or []:
            if isinstance(entry, dict):
                entry.pop(_LAST, None)
        stage.last_modified = None


def register(registry: Registry, settings: Any) -> None:
    """Add the manualJudgment stage type."""
    registry.add_task("waitForJudgmentTask", WaitForJudgmentTask())
    registry.add_stage(ManualJudgmentStage())
