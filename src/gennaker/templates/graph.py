"""The stage graph of a templated pipeline (Orca's V2ConfigStageInjectionTransform).

In order: a pipeline stage whose refId is a template stage's replaces it; the template's stages and
the pipeline's stages that name upstream stages form the initial graph, sorted upstream first;
then stages with an ``inject`` rule (the template's, then the pipeline's) are spliced in:
``first`` (before every root), ``last`` (after every leaf), ``before: [refIds]`` (takes over the
targets' upstream edges) or ``after: [refIds]`` (takes over the edges leaving the targets). A
pipeline stage with none of these is not part of the planned pipeline, as in Orca.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

Json = dict[str, Any]


class GraphError(Exception):
    """A stage cannot be placed; ``index`` is the pipeline stage at fault (None: the template's)."""

    def __init__(self, message: str, index: int | None = None, key: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.index = index
        self.key = key


def _ref(stage: Json) -> str:
    return str(stage.get("refId"))


def _reqs(stage: Json) -> list[str]:
    raw = stage.get("requisiteStageRefIds")
    reqs = [str(r) for r in raw] if isinstance(raw, list) else []
    unique = list(dict.fromkeys(reqs))
    stage["requisiteStageRefIds"] = unique
    return unique


def _add_req(stage: Json, ref_id: str) -> None:
    reqs = _reqs(stage)
    if ref_id not in reqs:
        reqs.append(ref_id)


def _has_rule(stage: Json) -> bool:
    rule = stage.get("inject")
    if not isinstance(rule, dict):
        return False
    return bool(
        rule.get("first") is True or rule.get("last") is True or rule.get("before") or rule.get("after")
    )


def _sort(stages: list[Json], on_cycle: Callable[[str], GraphError]) -> tuple[list[Json], dict[str, int]]:
    """Stages upstream first, and how many stages depend on each refId (0: a leaf)."""
    graph = {_ref(s): s for s in stages}
    state: dict[str, int] = {}
    out_order: dict[str, int] = dict.fromkeys(graph, 0)
    result: list[Json] = []

    def visit(ref_id: str) -> None:
        # Iterative DFS: a long chain must not hit Python's recursion limit.
        stack: list[tuple[str, int]] = [(ref_id, 0)]
        state[ref_id] = 1
        while stack:
            node, index = stack.pop()
            stage = graph.get(node)
            reqs = _reqs(stage) if stage is not None else []
            if index < len(reqs):
                stack.append((node, index + 1))
                nxt = reqs[index]
                if state.get(nxt) == 1:
                    raise on_cycle(node)
                if nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, 0))
                continue
            state[node] = 2
            if stage is not None:
                result.append(stage)
                for req in reqs:
                    out_order[req] = out_order.get(req, 0) + 1

    for ref_id in graph:
        if ref_id not in state:
            visit(ref_id)
    return result, out_order


def _cycle_error(index: int | None) -> Callable[[str], GraphError]:
    return lambda ref_id: GraphError(
        f"the stage graph has a cycle after injection (discovered on stage {ref_id})", index, "inject"
    )


def _inject(stage: Json, stages: list[Json], index: int | None) -> None:
    rule = stage["inject"]
    ref_id = _ref(stage)
    refs = [_ref(s) for s in stages]
    if rule.get("first") is True:
        for other in stages:
            if not _reqs(other):
                _add_req(other, ref_id)
        stages.insert(0, stage)
    elif rule.get("last") is True:
        ordered, out_order = _sort(stages, _cycle_error(index))
        for other in ordered:
            if out_order.get(_ref(other), 0) == 0:
                _add_req(stage, _ref(other))
        stages.append(stage)
    elif rule.get("before"):
        targets = _targets(rule["before"], refs, ref_id, index, "inject.before")
        edges: list[str] = []
        for target in targets:
            node = stages[refs.index(target)]
            edges.extend(_reqs(node))
            node["requisiteStageRefIds"] = [ref_id]
        for edge in dict.fromkeys(edges):
            _add_req(stage, edge)
        stages.insert(max(refs.index(t) for t in targets), stage)
    else:
        targets = _targets(rule["after"], refs, ref_id, index, "inject.after")
        for target in targets:
            _add_req(stage, target)
            for other in stages:
                reqs = _reqs(other)
                if target in reqs:
                    reqs.remove(target)
                    _add_req(other, ref_id)
        stages.insert(max(refs.index(t) for t in targets) + 1, stage)
    _sort(stages, _cycle_error(index))


def _targets(raw: Any, refs: list[str], ref_id: str, index: int | None, key: str) -> list[str]:
    wanted = [str(t) for t in raw] if isinstance(raw, list) else [str(raw)]
    for target in wanted:
        if target not in refs:
            raise GraphError(
                f"could not inject stage {ref_id!r}: unknown target stage id {target!r}", index, key
            )
    return wanted


def _inject_all(rule_stages: list[tuple[int | None, Json]], stages: list[Json]) -> list[Json]:
    for index, stage in rule_stages:
        if not _has_rule(stage):
            if isinstance(stage.get("inject"), dict):
                raise GraphError(
                    f"stage {_ref(stage)!r} has an inject rule with none of first, last, before, after",
                    index,
                    "inject",
                )
            continue
        stages[:] = [s for s in stages if _ref(s) != _ref(stage)]
        _inject(stage, stages, index)
    return stages


def build_graph(template_stages: list[Json], config_stages: list[Json]) -> list[Json]:
    """The planned pipeline's stages from the template's and the pipeline's (copies; inputs unchanged)."""
    stages = copy.deepcopy(template_stages)
    mine = copy.deepcopy(config_stages)
    positions = {_ref(s): i for i, s in enumerate(stages)}
    for stage in mine:
        if _ref(stage) in positions:
            stages[positions[_ref(stage)]] = stage
    replaced = {id(s) for s in stages}
    initial = stages + [s for s in mine if _reqs(s) and id(s) not in replaced]
    sorted_stages, _ = _sort(initial, _cycle_error(None))
    # Orca applies the rules of every stage in the initial graph first (the config's stages that
    # joined it included), then those of the config's stages; errors name the config's stage.
    index_of = {id(s): i for i, s in enumerate(mine)}
    template_rules = [(index_of.get(id(s)), s) for s in list(sorted_stages)]
    sorted_stages = _inject_all(template_rules, sorted_stages)
    config_rules: list[tuple[int | None, Json]] = list(enumerate(mine))
    result = _inject_all(config_rules, sorted_stages)
    for stage in result:
        stage.pop("inject", None)
    return result
