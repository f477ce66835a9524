"""CompleteTask: record the task's end and move to the next task or complete the stage."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers._common import S, stage_message, with_stage
from gennaker.engine.runtime import HandlerContext


def handle(ctx: HandlerContext, message: m.CompleteTask) -> None:
    """End a task with the message's status."""
    found = with_stage(ctx, message)
    if found is None:
        return
    execution, stage = found
    task = stage.task(message.task_id)
    if task is None or task.status.is_complete:
        return
    status = message.status
    if status == S.REDIRECT:
        _redirect(ctx, message)
        return
    task.status = status
    task.end_time = ctx.now_ms
    ctx.save(execution, stage)
    if status == S.SKIPPED and stage.context.get("manualSkip") is True:
        top = execution.stage(stage.id)
        while top is not None and top.parent_stage_id is not None:
            top = execution.stage(top.parent_stage_id)
        if top is not None:
            ctx.push(stage_message(execution, top, m.SkipStage))
        return
    index = stage.tasks.index(task)
    if status in (S.SUCCEEDED, S.FAILED_CONTINUE, S.SKIPPED) and index + 1 < len(stage.tasks):
        nxt = stage.tasks[index + 1]
        ctx.push(m.StartTask(execution.type, execution.id, execution.application, stage.id, nxt.id))
    else:
        ctx.push(stage_message(execution, stage, m.CompleteStage))


def _redirect(ctx: HandlerContext, message: m.CompleteTask) -> None:
    """Re-run the loop the task closes: its tasks from the last loopStart go back to NOT_STARTED."""
    execution = ctx.load(message.execution_id)
    stage = execution.stage(message.stage_id)
    assert stage is not None
    task = stage.task(message.task_id)
    assert task is not None
    index = stage.tasks.index(task)
    start = index
    while start > 0 and not stage.tasks[start].loop_start:
        start -= 1
    for looped in stage.tasks[start : index + 1]:
        looped.status = S.NOT_STARTED
        looped.start_time = None
        looped.end_time = None
    ctx.save(execution, stage)
    first = stage.tasks[start]
    ctx.push(m.StartTask(execution.type, execution.id, execution.application, stage.id, first.id))
