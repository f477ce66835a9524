"""What the pages say about an execution beyond its JSON: a stage's failure in plain words, what
a waiting execution waits for, where its trigger came from, which actions apply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gennaker.model.execution import Execution, Stage
from gennaker.model.status import ExecutionStatus as S


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return _strings(value.get("message") or value.get("error"))
    return []


def stage_problems(stage: Stage) -> list[str]:
    """Why the stage failed, as the messages Spinnaker's stage JSON carries, without repeats."""
    found: list[str] = []
    exception = stage.context.get("exception")
    if isinstance(exception, dict):
        details = exception.get("details")
        if isinstance(details, dict):
            found += _strings(details.get("errors")) or _strings(details.get("error"))
        found += _strings(exception.get("message"))
    for task in stage.tasks:
        details = task.task_exception_details
        if isinstance(details, dict):
            nested = details.get("details")
            inner: dict[str, Any] = nested if isinstance(nested, dict) else details
            found += _strings(inner.get("errors")) or _strings(inner.get("error"))
    for key in ("failureMessage", "lastException"):
        found += _strings(stage.context.get(key))
    return list(dict.fromkeys(found))


def waiting_reason(execution: Execution) -> dict[str, Any] | None:
    """``{reason, heldBy, since}`` while the execution waits for a concurrency slot or a lock."""
    waiting = execution.state.get("waiting")
    if execution.status is S.NOT_STARTED and isinstance(waiting, dict) and waiting.get("reason"):
        return waiting
    return None


@dataclass(frozen=True)
class TriggerFact:
    """One line about the trigger: a label, a value and, when there is one, a link."""

    label: str
    value: str
    href: str | None = None


def trigger_facts(execution: Execution) -> list[TriggerFact]:
    """Where the execution came from: its trigger type and user, parent pipeline, git commit,
    docker tag, webhook payload keys."""
    trigger = execution.trigger
    facts = [TriggerFact("trigger", str(trigger.get("type") or "manual"))]
    if trigger.get("user"):
        facts.append(TriggerFact("by", str(trigger["user"])))
    parent = trigger.get("parentExecution")
    parent_id = trigger.get("parentPipelineId") or (parent.get("id") if isinstance(parent, dict) else None)
    if parent_id:
        app = trigger.get("parentPipelineApplication") or (
            parent.get("application") if isinstance(parent, dict) else execution.application
        )
        name = trigger.get("parentPipelineName") or (
            parent.get("name") if isinstance(parent, dict) else parent_id
        )
        facts.append(
            TriggerFact("parent pipeline", str(name), f"/ui/applications/{app}/executions/{parent_id}")
        )
    if trigger.get("hash"):
        project, slug = trigger.get("project"), trigger.get("slug")
        where = f"{project}/{slug}" if project and slug else ""
        facts.append(TriggerFact("git commit", f"{where} {str(trigger['hash'])[:12]}".strip()))
        if trigger.get("branch"):
            facts.append(TriggerFact("branch", str(trigger["branch"])))
    if trigger.get("tag") and trigger.get("repository"):
        facts.append(TriggerFact("docker image", f"{trigger['repository']}:{trigger['tag']}"))
    if trigger.get("cronExpression"):
        facts.append(TriggerFact("cron", str(trigger["cronExpression"])))
    return facts


def can_restart(execution: Execution, stage: Stage) -> bool:
    """A finished top-level stage can be restarted (what follows it runs again)."""
    return stage.parent_stage_id is None and stage.status.is_complete and stage.status is not S.SKIPPED


def is_judgeable(stage: Stage) -> bool:
    """A manual judgment waiting for someone."""
    return stage.type == "manualJudgment" and stage.status is S.RUNNING


def is_skippable_wait(stage: Stage) -> bool:
    """A wait that is counting down."""
    return stage.type == "wait" and stage.status is S.RUNNING


def judgment_options(stage: Stage) -> list[str]:
    """The manual judgment's inputs (Deck shows them as a choice)."""
    inputs = stage.context.get("judgmentInputs")
    out: list[str] = []
    if isinstance(inputs, list):
        for item in inputs:
            value = item.get("value") if isinstance(item, dict) else item
            if isinstance(value, str) and value:
                out.append(value)
    return out


def default_stage(execution: Execution) -> Stage | None:
    """The stage to show when none is chosen: one that needs a person, else running, else failed,
    else the one that started last."""
    top = [s for s in execution.stages if s.parent_stage_id is None]
    for wanted in (is_judgeable, lambda s: s.status is S.RUNNING, lambda s: s.status.is_failure):
        for stage in top:
            if wanted(stage):
                return stage
    started = [s for s in top if s.start_time]
    return max(started, key=lambda s: (s.start_time or 0, not s.is_finally), default=None)
