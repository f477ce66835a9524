"""Operator actions on executions (§2.8): cancel, pause, resume, restart a stage, patch a stage
(judgment, skipRemainingWait, manualSkip), delete. Each validates the current state, writes, and
queues the message that carries the action out, in one transaction; bad requests change nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gennaker.engine import messages as m
from gennaker.engine.planning import definition_for
from gennaker.engine.registry import UnknownStageType
from gennaker.errors import Conflict, InvalidInput, NotFound
from gennaker.model.execution import Execution, Stage
from gennaker.model.status import ExecutionStatus
from gennaker.store.executions import ExecutionNotFound

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from gennaker.engine.contracts import EngineServices

S = ExecutionStatus

#: What ``PATCH /pipelines/{id}/stages/{stageId}`` may change: what Deck sends (judgment, skipping a
#: wait or window, a manual skip with its reason). Anything else in a stage's context drives
#: engine side effects (a job's process group, a child execution to cancel, URLs to call).
PATCHABLE_STAGE_KEYS = (
    "judgmentStatus",
    "judgmentInput",
    "lastModifiedBy",
    "skipRemainingWait",
    "manualSkip",
    "reason",
)


class Operations:
    """What the API and CLI call to act on executions."""

    def __init__(self, services: EngineServices) -> None:
        self.services = services

    def _load(self, conn: Connection, execution_id: str) -> Execution:
        try:
            return self.services.executions.load(conn, execution_id, for_update=True)
        except ExecutionNotFound:
            raise NotFound(f"execution {execution_id} not found") from None

    def _push(self, conn: Connection, message: m.Message) -> None:
        self.services.queue.push(conn, message.queued())

    def cancel(self, execution_id: str, *, user: str | None = None, reason: str | None = None) -> Execution:
        """Cancel a waiting or running execution (a finished one is left as it is)."""
        with self.services.db.transaction() as conn:
            execution = self._load(conn, execution_id)
            if execution.status.is_complete:
                return execution
            self._push(
                conn, m.CancelExecution(execution.type, execution.id, execution.application, user, reason)
            )
            return execution

    def pause(self, execution_id: str, *, user: str | None = None) -> Execution:
        """Pause a RUNNING execution: its tasks stop at their next poll."""
        with self.services.db.transaction() as conn:
            execution = self._load(conn, execution_id)
            if execution.status != S.RUNNING:
                raise Conflict(
                    f"execution {execution_id} is {execution.status.value}; only RUNNING executions can be paused"
                )
            now = self.services.clock.now_ms()
            paused = dict(execution.paused or {})
            paused.update(pausedBy=user or "anonymous", pauseTime=now, isPaused=True)
            paused.pop("resumeTime", None)
            paused.pop("resumedBy", None)
            execution.paused = paused
            execution.status = S.PAUSED
            self.services.executions.save(conn, execution)
            self._push(conn, m.RescheduleExecution(execution.type, execution.id, execution.application))
            return execution

    def resume(self, execution_id: str, *, user: str | None = None) -> Execution:
        """Resume a PAUSED execution; the paused time does not count against timeouts."""
        with self.services.db.transaction() as conn:
            execution = self._load(conn, execution_id)
            if execution.status != S.PAUSED:
                raise Conflict(
                    f"execution {execution_id} is {execution.status.value}; only PAUSED executions can be resumed"
                )
            now = self.services.clock.now_ms()
            paused = dict(execution.paused or {})
            start = int(paused.get("pauseTime") or now)
            paused.setdefault("intervals", []).append([start, now])
            paused.update(resumedBy=user or "anonymous", resumeTime=now, isPaused=False)
            paused["pausedMs"] = int(paused.get("pausedMs", 0)) + (now - start)
            execution.paused = paused
            execution.status = S.RUNNING
            self.services.executions.save(conn, execution)
            self._push(conn, m.ResumeExecution(execution.type, execution.id, execution.application))
            return execution

    def restart_stage(self, execution_id: str, stage_id: str, *, user: str | None = None) -> Execution:
        """Run a finished (or never started) top-level stage and what follows it again."""
        with self.services.db.transaction() as conn:
            execution = self._load(conn, execution_id)
            stage = self._stage(execution, stage_id)
            if stage.parent_stage_id is not None:
                raise InvalidInput(f"stage {stage_id} is synthetic; restart its top-level stage instead")
            if not (stage.status.is_complete or stage.status == S.NOT_STARTED):
                raise Conflict(
                    f"stage {stage_id} is {stage.status.value}; only finished stages can be restarted"
                )
            self._push(
                conn, m.RestartStage(execution.type, execution.id, execution.application, stage.id, user)
            )
            return execution

    def patch_stage(
        self, execution_id: str, stage_id: str, patch: Mapping[str, Any], *, user: str | None = None
    ) -> Execution:
        """Gate's ``PATCH /pipelines/{id}/stages/{stageId}``: merge the keys Deck sends (judgment,
        skipRemainingWait, manualSkip; PATCHABLE_STAGE_KEYS) into the stage context, record
        lastModified, make running tasks look now. Other keys are refused, nothing changed."""
        if not isinstance(patch, Mapping) or not patch:
            raise InvalidInput("the stage patch must be a non-empty JSON object")
        with self.services.db.transaction() as conn:
            execution = self._load(conn, execution_id)
            stage = self._stage(execution, stage_id)
            refused = sorted(str(k) for k in patch if k not in PATCHABLE_STAGE_KEYS)
            if refused:
                raise InvalidInput(
                    f"$.{refused[0]}: a stage patch may set only {', '.join(PATCHABLE_STAGE_KEYS)} "
                    f"(refused: {', '.join(refused)})"
                )
            if execution.status.is_complete:
                raise Conflict(
                    f"execution {execution_id} is {execution.status.value}; its stages cannot be changed"
                )
            if "judgmentStatus" in patch:
                status = str(patch.get("judgmentStatus") or "").lower()
                if stage.type != "manualJudgment":
                    raise InvalidInput(f"stage {stage_id} is a {stage.type} stage, not a manualJudgment")
                if stage.status != S.RUNNING:
                    raise Conflict(
                        f"stage {stage_id} is {stage.status.value}; only a waiting judgment can be given"
                    )
                if status not in ("continue", "stop"):
                    raise InvalidInput("judgmentStatus must be 'continue' or 'stop'")
            if patch.get("manualSkip") is True:
                try:
                    skippable = definition_for(self.services.registry, stage).can_manually_skip(stage)
                except UnknownStageType:
                    skippable = False
                if not skippable:
                    raise Conflict(f"stage {stage_id} ({stage.type}) cannot be skipped manually")
            if patch.get("skipRemainingWait") is True and stage.status.is_complete:
                raise Conflict(f"stage {stage_id} is {stage.status.value}; there is no wait to skip")
            stage.context.update(dict(patch))
            stage.last_modified = {
                "user": user or "anonymous",
                "allowedAccounts": self.services.access.allowed_accounts(user),
                "lastModifiedTime": self.services.clock.now_ms(),
            }
            self.services.executions.save(conn, execution)
            self._push(conn, m.RescheduleExecution(execution.type, execution.id, execution.application))
            return execution

    def delete(self, execution_id: str) -> None:
        """Delete a finished execution (and anything still queued for it)."""
        with self.services.db.transaction() as conn:
            execution = self._load(conn, execution_id)
            if not execution.status.is_complete:
                raise Conflict(
                    f"execution {execution_id} is {execution.status.value}; only finished executions can be deleted"
                )
            self.services.queue.purge_execution(conn, execution_id)
            self.services.executions.delete(conn, execution_id)

    @staticmethod
    def _stage(execution: Execution, stage_id: str) -> Stage:
        stage = execution.stage(stage_id)
        if stage is None:
            raise NotFound(f"execution {execution.id} has no stage {stage_id}")
        return stage
