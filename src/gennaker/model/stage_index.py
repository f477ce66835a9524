"""An execution's stage graph indexed once: stages by id, by refId within each graph, children,
upstream and downstream, and the counts that decide a join without rescanning.

Built from a ``StageList`` and valid while that list is not changed (the list counts its changes;
``Execution.index()`` rebuilds when the count moved). Statuses change freely without a rebuild:
every stage tells the index of its status changes (``Stage.status_listener``), and the index keeps
per stage the number of upstream stages that are not done yet, and per execution the number of
halted stages, so "may this stage start?" is a lookup, not a walk of the graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, Self, SupportsIndex, TypeVar

from gennaker.model.status import UPSTREAM_DONE, UPSTREAM_FAILED, ExecutionStatus


class StageNode(Protocol):
    """What the index reads of a stage (``gennaker.model.execution.Stage``)."""

    id: str
    ref_id: str | None
    parent_stage_id: str | None
    synthetic_stage_owner: str | None
    is_finally: bool
    requisite_stage_ref_ids: list[str]
    status_listener: Callable[[Any, ExecutionStatus, ExecutionStatus], None] | None

    @property
    def status(self) -> ExecutionStatus: ...


S = TypeVar("S", bound=StageNode)

#: Which graph a stage's refIds live in: its parent and phase, or its top-level block.
Group = tuple[str | None, str | None, bool]


class StageList(list[S]):
    """A list of stages that counts its changes, so an index built on it knows when it is stale."""

    __slots__ = ("version",)

    def __init__(self, stages: Iterable[S] = ()) -> None:
        super().__init__(stages)
        self.version = 0

    def __setitem__(self, key: Any, value: Any) -> None:
        self.version += 1
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        self.version += 1
        super().__delitem__(key)

    def __iadd__(self, other: Iterable[S]) -> Self:  # type: ignore[override, misc]
        self.version += 1
        return super().__iadd__(other)

    def __imul__(self, count: SupportsIndex) -> Self:
        self.version += 1
        return super().__imul__(count)

    def append(self, stage: S) -> None:
        self.version += 1
        super().append(stage)

    def extend(self, stages: Iterable[S]) -> None:
        self.version += 1
        super().extend(stages)

    def insert(self, index: SupportsIndex, stage: S) -> None:
        self.version += 1
        super().insert(index, stage)

    def pop(self, index: SupportsIndex = -1) -> S:
        self.version += 1
        return super().pop(index)

    def remove(self, stage: S) -> None:
        self.version += 1
        super().remove(stage)

    def clear(self) -> None:
        self.version += 1
        super().clear()

    def sort(self, *, key: Any = None, reverse: bool = False) -> None:
        self.version += 1
        super().sort(key=key, reverse=reverse)

    def reverse(self) -> None:
        self.version += 1
        super().reverse()


def group_of(stage: StageNode) -> Group:
    """The graph ``stage`` belongs to (refIds are unique only within one)."""
    if stage.parent_stage_id is None:
        return (None, None, stage.is_finally)
    return (stage.parent_stage_id, stage.synthetic_stage_owner, stage.is_finally)


class StageIndex(Generic[S]):
    """Lookups over one version of an execution's stage list; see the module docstring."""

    def __init__(self, stages: StageList[S]) -> None:
        self.stages = stages
        self.version = stages.version
        self.by_id: dict[str, S] = {}
        self.children: dict[str, list[S]] = {}
        self.groups: dict[Group, dict[str, list[S]]] = {}
        self.upstream: dict[str, list[S]] = {}
        self.downstream: dict[str, list[S]] = {}
        self.unfinished: dict[str, int] = {}
        self.halted = 0
        #: Memoised ancestor chains (they depend on the structure only).
        self.ancestors: dict[str, list[S]] = {}
        for stage in stages:
            self.by_id.setdefault(stage.id, stage)
            if stage.parent_stage_id is not None:
                self.children.setdefault(stage.parent_stage_id, []).append(stage)
            if stage.ref_id is not None:
                self.groups.setdefault(group_of(stage), {}).setdefault(stage.ref_id, []).append(stage)
            if stage.status in UPSTREAM_FAILED:
                self.halted += 1
            stage.status_listener = self._status_changed
        for stage in stages:
            if not stage.requisite_stage_ref_ids:
                continue
            group = self.groups.get(group_of(stage), {})
            ups = [
                up
                for ref in dict.fromkeys(stage.requisite_stage_ref_ids)
                for up in group.get(ref, ())
                if up is not stage
            ]
            self.upstream[stage.id] = ups
            self.unfinished[stage.id] = sum(1 for up in ups if up.status not in UPSTREAM_DONE)
            for up in ups:
                self.downstream.setdefault(up.id, []).append(stage)

    def is_current(self, stages: list[S]) -> bool:
        """Whether this index still describes ``stages``."""
        return stages is self.stages and self.version == self.stages.version

    def _status_changed(self, stage: S, old: ExecutionStatus, new: ExecutionStatus) -> None:
        was_done, done = old in UPSTREAM_DONE, new in UPSTREAM_DONE
        if was_done != done:
            step = 1 if was_done else -1
            for down in self.downstream.get(stage.id, ()):
                self.unfinished[down.id] += step
        was_halted, halted = old in UPSTREAM_FAILED, new in UPSTREAM_FAILED
        if was_halted != halted:
            self.halted += 1 if halted else -1

    def all_upstream_done(self, stage: S) -> bool:
        """Every upstream stage ended in a status that lets ``stage`` start."""
        return self.unfinished.get(stage.id, 0) == 0

    def any_upstream_halted(self, stage: S) -> bool:
        """Some upstream stage, directly or through NOT_STARTED ones, halted. Free while nothing in
        the execution halted; otherwise one walk of the upstream graph (each stage once)."""
        if self.halted == 0:
            return False
        seen = {stage.id}
        stack = [stage]
        while stack:
            for up in self.upstream.get(stack.pop().id, ()):
                if up.status in UPSTREAM_FAILED:
                    return True
                if up.status == ExecutionStatus.NOT_STARTED and up.id not in seen:
                    seen.add(up.id)
                    stack.append(up)
        return False
