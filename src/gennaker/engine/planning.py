"""Planning a stage: its task records and its synthetic before/after/on-failure stages."""

from __future__ import annotations

from collections.abc import Sequence

from gennaker.engine.contracts import StageDefinition, StageTypes, SyntheticStageSpec
from gennaker.model.execution import STAGE_AFTER, STAGE_BEFORE, Execution, Stage, Task
from gennaker.model.ids import new_ulid
from gennaker.model.status import ExecutionStatus

EXECUTION_WINDOW = "restrictExecutionDuringTimeWindow"


def definition_for(registry: StageTypes, stage: Stage) -> StageDefinition:
    """The stage type for a stage: its ``alias`` when registered (Spinnaker looks it up instead of
    ``type``), else its ``type``."""
    alias = stage.context.get("alias")
    if isinstance(alias, str) and registry.has_stage(alias):
        return registry.stage(alias)
    return registry.stage(stage.type)


def plan_stage(registry: StageTypes, execution: Execution, stage: Stage, now_ms: int) -> None:
    """Create the stage's task records and before-stages (at stage start)."""
    definition = definition_for(registry, stage)
    specs = definition.tasks(stage)
    for spec in specs:
        registry.task(spec.task_type)  # fail planning now, not at run time, for an unknown task
    stage.tasks = [
        Task(id=str(i + 1), name=spec.name, implementing_class=spec.task_type) for i, spec in enumerate(specs)
    ]
    if stage.tasks:
        stage.tasks[0].stage_start = True
        stage.tasks[-1].stage_end = True
    before = list(definition.before_stages(stage))
    if (
        stage.parent_stage_id is None
        and stage.context.get("restrictExecutionDuringTimeWindow") is True
        and stage.type != EXECUTION_WINDOW
    ):
        window = SyntheticStageSpec(type=EXECUTION_WINDOW, name="Restrict Execution During", context={})
        add_synthetic(execution, stage, [window], STAGE_BEFORE, now_ms, first_index=0)
    add_synthetic(execution, stage, before, STAGE_BEFORE, now_ms)


def plan_after_stages(registry: StageTypes, execution: Execution, stage: Stage, now_ms: int) -> list[Stage]:
    """Add the after-stages once (at the end of the tasks); returns the first ones to start."""
    if stage.context.get("afterStagesPlanned"):
        return first_of(execution, stage, STAGE_AFTER)
    stage.context["afterStagesPlanned"] = True
    specs = definition_for(registry, stage).after_stages(stage)
    add_synthetic(execution, stage, specs, STAGE_AFTER, now_ms)
    return first_of(execution, stage, STAGE_AFTER)


def plan_on_failure_stages(
    registry: StageTypes, execution: Execution, stage: Stage, now_ms: int
) -> list[Stage]:
    """Replace unstarted after-stages with on-failure stages (once); returns the first to start."""
    if stage.context.get("onFailureStagesPlanned"):
        return []
    specs = definition_for(registry, stage).on_failure_stages(stage)
    if not specs:
        return []
    stage.context["onFailureStagesPlanned"] = True
    pending = {
        s.id for s in execution.children(stage, STAGE_AFTER) if s.status == ExecutionStatus.NOT_STARTED
    }
    remove_stages(execution, pending)
    # One chain of their own: the first must not wait for an after-stage that already ran (and
    # failed), or nothing would ever start it.
    chained = [SyntheticStageSpec(s.type, s.name, s.context, chained=i > 0) for i, s in enumerate(specs)]
    return add_synthetic(execution, stage, chained, STAGE_AFTER, now_ms)


def first_of(execution: Execution, stage: Stage, owner: str) -> list[Stage]:
    """Children of one phase with no upstream sibling."""
    return [s for s in execution.children(stage, owner) if not s.requisite_stage_ref_ids]


def add_synthetic(
    execution: Execution,
    parent_stage: Stage,
    specs: Sequence[SyntheticStageSpec],
    owner: str,
    now_ms: int,
    *,
    first_index: int | None = None,
) -> list[Stage]:
    """Insert child stages for ``specs``; returns those with no upstream sibling."""
    if not specs:
        return []
    marker = "<" if owner == STAGE_BEFORE else ">"
    base = parent_stage.ref_id or parent_stage.id
    existing = [s for s in execution.children(parent_stage, owner)]
    index = len(existing) + 1 if first_index is None else first_index
    previous_ref = existing[-1].ref_id if existing else None
    created: list[Stage] = []
    for spec in specs:
        ref_id = f"{base}{marker}{index}"
        requisites = [previous_ref] if spec.chained and previous_ref is not None else []
        created.append(
            Stage(
                id=new_ulid(now_ms),
                ref_id=ref_id,
                type=spec.type,
                name=spec.name,
                context=dict(spec.context),
                requisite_stage_ref_ids=requisites,
                parent_stage_id=parent_stage.id,
                synthetic_stage_owner=owner,
                is_finally=parent_stage.is_finally,
            )
        )
        previous_ref = ref_id
        index += 1
    position = execution.stages.index(parent_stage)
    if owner == STAGE_BEFORE:
        execution.stages[position:position] = created
    else:
        end = position + 1
        descendants = _descendant_ids(execution, parent_stage)
        while end < len(execution.stages) and execution.stages[end].id in descendants:
            end += 1
        execution.stages[end:end] = created
    return [s for s in created if not s.requisite_stage_ref_ids]


def _descendant_ids(execution: Execution, stage: Stage) -> set[str]:
    found: set[str] = set()
    frontier = {stage.id}
    while frontier:
        children = {s.id for s in execution.stages if s.parent_stage_id in frontier}
        frontier = children - found
        found |= children
    return found


def remove_stages(execution: Execution, stage_ids: set[str]) -> None:
    """Remove stages and all their synthetic descendants."""
    doomed = set(stage_ids)
    for sid in list(stage_ids):
        stage = execution.stage(sid)
        if stage is not None:
            doomed |= _descendant_ids(execution, stage)
    execution.stages = [s for s in execution.stages if s.id not in doomed]


def reset_stage(execution: Execution, stage: Stage) -> None:
    """Back to NOT_STARTED with no tasks, times or synthetic stages (restart and retry)."""
    remove_stages(execution, _descendant_ids(execution, stage))
    stage.status = ExecutionStatus.NOT_STARTED
    stage.start_time = None
    stage.end_time = None
    stage.tasks = []
    for key in (
        "exception",
        "afterStagesPlanned",
        "onFailureStagesPlanned",
        "beforeStagePlanningFailed",
        "manualSkip",
        "skipRemainingWait",
        "cancelResults",
    ):
        stage.context.pop(key, None)
