"""Navigating an execution's stage graph: upstream/downstream, synthetic children, ancestors, and the
status algebra of Orca's CompleteStageHandler (§2.5) and failure options (§1.2)."""

from __future__ import annotations

from collections.abc import Iterator

from gennaker.model.execution import STAGE_AFTER, STAGE_BEFORE, Execution, Stage
from gennaker.model.status import UPSTREAM_DONE, UPSTREAM_FAILED, ExecutionStatus

S = ExecutionStatus


def siblings(execution: Execution, stage: Stage) -> Iterator[Stage]:
    """Stages in the same graph as ``stage``: same parent and phase, or the same top-level block."""
    for other in execution.stages:
        if stage.parent_stage_id is None:
            if other.parent_stage_id is None and other.is_finally == stage.is_finally:
                yield other
        elif (
            other.parent_stage_id == stage.parent_stage_id
            and other.synthetic_stage_owner == stage.synthetic_stage_owner
        ):
            yield other


def upstream(execution: Execution, stage: Stage) -> list[Stage]:
    """The stages ``stage`` waits for."""
    if not stage.requisite_stage_ref_ids:
        return []
    wanted = set(stage.requisite_stage_ref_ids)
    return [s for s in siblings(execution, stage) if s.ref_id in wanted and s is not stage]


def downstream(execution: Execution, stage: Stage) -> list[Stage]:
    """The stages that wait for ``stage``."""
    if stage.ref_id is None:
        return []
    return [s for s in siblings(execution, stage) if stage.ref_id in s.requisite_stage_ref_ids]


def initial_stages(execution: Execution, *, finally_block: bool = False) -> list[Stage]:
    """Top-level stages of a block with no upstream."""
    return [s for s in execution.top_level(finally_block=finally_block) if not s.requisite_stage_ref_ids]


def all_upstream_complete(execution: Execution, stage: Stage) -> bool:
    """Every upstream stage ended in a status that lets this one start."""
    return all(s.status in UPSTREAM_DONE for s in upstream(execution, stage))


def any_upstream_failed(execution: Execution, stage: Stage) -> bool:
    """Some upstream stage (directly, or through a NOT_STARTED one) halted."""
    for up in upstream(execution, stage):
        if up.status in UPSTREAM_FAILED:
            return True
        if up.status == S.NOT_STARTED and any_upstream_failed(execution, up):
            return True
    return False


def parent(execution: Execution, stage: Stage) -> Stage | None:
    """The stage that planned ``stage``, if synthetic."""
    return execution.stage(stage.parent_stage_id) if stage.parent_stage_id else None


def top_level_of(execution: Execution, stage: Stage) -> Stage:
    """The top-level stage ``stage`` belongs to."""
    current = stage
    while current.parent_stage_id is not None:
        found = execution.stage(current.parent_stage_id)
        if found is None:
            break
        current = found
    return current


def first_children(execution: Execution, stage: Stage, owner: str) -> list[Stage]:
    """Synthetic children of one phase that have no upstream sibling (the ones to start first)."""
    return [s for s in execution.children(stage, owner) if not s.requisite_stage_ref_ids]


def ancestors(execution: Execution, stage: Stage) -> list[Stage]:
    """``stage`` then the stages whose outputs it can read, nearest first (Orca's ancestors()).

    Builds an index of the graph once per call, so the walk is linear in the number of stages
    (a naive walk re-scans the siblings at every step, cubic over a long pipeline)."""
    by_ref: dict[tuple[str | None, str | None, bool], dict[str, Stage]] = {}
    children: dict[str, list[Stage]] = {}
    by_id: dict[str, Stage] = {}
    for s in execution.stages:
        by_id[s.id] = s
        if s.ref_id is not None:
            by_ref.setdefault(_group(s), {}).setdefault(s.ref_id, s)
        if s.parent_stage_id is not None:
            children.setdefault(s.parent_stage_id, []).append(s)
    result: list[Stage] = [stage]
    seen = {stage.id}

    def add(s: Stage) -> bool:
        if s.id in seen:
            return False
        seen.add(s.id)
        result.append(s)
        return True

    # Depth-first like Orca's recursion, with an explicit stack (a 1,000-stage chain would
    # overflow Python's recursion limit).
    stack = [stage]
    while stack:
        current = stack.pop()
        if current.requisite_stage_ref_ids:
            group = by_ref.get(_group(current), {})
            previous = [
                group[r] for r in current.requisite_stage_ref_ids if r in group and group[r] is not current
            ]
            fresh = [p for p in previous if add(p)]
            for p in previous:
                for child in children.get(p.id, ()):
                    add(child)
            stack.extend(reversed(fresh))
        elif current.parent_stage_id is not None:
            if current.synthetic_stage_owner == STAGE_AFTER:
                for sibling in children.get(current.parent_stage_id, ()):
                    if sibling.synthetic_stage_owner == STAGE_BEFORE:
                        add(sibling)
            found = by_id.get(current.parent_stage_id)
            if found is not None and add(found):
                stack.append(found)
    return result


def _group(stage: Stage) -> tuple[str | None, str | None, bool]:
    """Which graph a stage's refIds live in: its parent and phase, or its top-level block."""
    if stage.parent_stage_id is None:
        return (None, None, stage.is_finally)
    return (stage.parent_stage_id, stage.synthetic_stage_owner, stage.is_finally)


def failure_status(stage: Stage, default: ExecutionStatus = S.TERMINAL) -> ExecutionStatus:
    """The status a failure maps to under the stage's failPipeline/continuePipeline options."""
    context = stage.context
    if context.get("continuePipeline") is True:
        return S.FAILED_CONTINUE
    fail_pipeline = context.get("failPipeline")
    if fail_pipeline is None or fail_pipeline is True:
        return default
    return S.STOPPED


def determine_status(execution: Execution, stage: Stage) -> ExecutionStatus:
    """A stage's status from its synthetic children and tasks (CompleteStageHandler.determineStatus)."""
    children = list(execution.children(stage))
    statuses = [c.status for c in children] + [t.status for t in stage.tasks]
    if stage.context.get("beforeStagePlanningFailed"):
        statuses.append(failure_status(stage))
    if not statuses:
        return S.NOT_STARTED
    if S.TERMINAL in statuses:
        return failure_status(stage)
    if S.STOPPED in statuses:
        return S.STOPPED
    if S.CANCELED in statuses:
        return S.CANCELED
    if S.FAILED_CONTINUE in statuses:
        return S.FAILED_CONTINUE
    if all(s in (S.SUCCEEDED, S.SKIPPED) for s in statuses):
        return S.SUCCEEDED
    after = [c for c in children if c.synthetic_stage_owner == STAGE_AFTER]
    if any(c.status == S.NOT_STARTED for c in after):
        return S.RUNNING
    return S.TERMINAL


def stage_timeout_owner(execution: Execution, stage: Stage) -> Stage | None:
    """The nearest stage (itself or a parent) with a numeric stageTimeoutMs."""
    current: Stage | None = stage
    while current is not None:
        value = current.context.get("stageTimeoutMs")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return current
        if isinstance(value, str) and value.strip().isdigit():
            return current
        current = parent(execution, current)
    return None


def paused_ms_since(execution: Execution, since_ms: int, now_ms: int) -> int:
    """Time the execution spent paused between ``since_ms`` and ``now_ms``."""
    paused = execution.paused or {}
    total = 0
    for start, end in paused.get("intervals", []):
        lo = max(start, since_ms)
        hi = min(end, now_ms)
        if hi > lo:
            total += hi - lo
    if execution.status == S.PAUSED and paused.get("pauseTime"):
        lo = max(int(paused["pauseTime"]), since_ms)
        if now_ms > lo:
            total += now_ms - lo
    return total
