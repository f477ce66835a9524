"""Navigating an execution's stage graph: upstream/downstream, synthetic children, ancestors, and the
status algebra of Orca's CompleteStageHandler (§2.5) and failure options (§1.2)."""

from __future__ import annotations

from collections.abc import Iterator

from gennaker.model.execution import STAGE_AFTER, STAGE_BEFORE, Execution, Stage
from gennaker.model.stage_index import StageIndex, group_of
from gennaker.model.status import ExecutionStatus

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
    return list(execution.index().upstream.get(stage.id, ()))


def downstream(execution: Execution, stage: Stage) -> list[Stage]:
    """The stages that wait for ``stage``."""
    return list(execution.index().downstream.get(stage.id, ()))


def initial_stages(execution: Execution, *, finally_block: bool = False) -> list[Stage]:
    """Top-level stages of a block with no upstream."""
    return [s for s in execution.top_level(finally_block=finally_block) if not s.requisite_stage_ref_ids]


def all_upstream_complete(execution: Execution, stage: Stage) -> bool:
    """Every upstream stage ended in a status that lets this one start (a count, kept by the index)."""
    return execution.index().all_upstream_done(stage)


def any_upstream_failed(execution: Execution, stage: Stage) -> bool:
    """Some upstream stage (directly, or through a NOT_STARTED one) halted."""
    return execution.index().any_upstream_halted(stage)


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

    Walks the graph through the execution's index, and the index remembers the answer until stages
    are added or removed (a naive walk re-scans the siblings at every step, cubic over a long
    pipeline; an unremembered one is still quadratic when every stage of a chain asks)."""
    index = execution.index()
    found = index.ancestors.get(stage.id)
    if found is not None:
        return found
    # A stage whose only upstream stage has no synthetic children reads exactly what that one
    # reads, after it: reuse its remembered chain (a long chain then costs one list copy per stage,
    # not one walk of the whole chain per stage).
    links: list[Stage] = []
    current = stage
    while (single := _single_upstream(index, current)) is not None:
        links.append(current)
        current = single
        if current.id in index.ancestors:
            break
    if links:
        chain = index.ancestors.get(current.id) or _walk(index, current)
        index.ancestors[current.id] = chain
        for link in reversed(links):
            chain = [link, *chain]
            index.ancestors[link.id] = chain
        return chain
    result = _walk(index, stage)
    index.ancestors[stage.id] = result
    return result


def _single_upstream(index: StageIndex[Stage], stage: Stage) -> Stage | None:
    """The one upstream stage of a top-level ``stage``, if it has exactly one and no children."""
    if stage.parent_stage_id is not None or len(stage.requisite_stage_ref_ids) != 1:
        return None
    group = index.groups.get(group_of(stage), {})
    found = group.get(stage.requisite_stage_ref_ids[0])
    if not found or found[0] is stage or found[0].id in index.children:
        return None
    return found[0]


def _walk(index: StageIndex[Stage], stage: Stage) -> list[Stage]:
    children = index.children
    by_id = index.by_id
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
            group = index.groups.get(group_of(current), {})
            previous = [
                group[r][0]
                for r in current.requisite_stage_ref_ids
                if r in group and group[r][0] is not current
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
            parent_stage = by_id.get(current.parent_stage_id)
            if parent_stage is not None and add(parent_stage):
                stack.append(parent_stage)
    return result


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
