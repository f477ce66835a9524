"""The stage graph of a pipeline config: refIds, requisiteStageRefIds, cycles.

A pipeline has two graphs: the main stages (``$.stages``) and Gennaker's ``finally`` block
(``$.finally``). refIds are unique across both, so an execution can hold all stages in one list;
edges never cross between the two, because the finally block runs after the main graph has ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gennaker.errors import FieldError

#: The two blocks a stage can belong to.
MAIN = "main"
FINALLY = "finally"


@dataclass
class _Node:
    path: str
    block: str
    stage: dict[str, Any]
    ref_id: str | None = None
    requisites: list[tuple[str, str]] = field(default_factory=list)  # (path, refId)


def ref_id_text(value: object) -> str | None:
    """A refId as Orca reads it: strings as they are, integers as text (Jackson coerces them)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def check_stage_graph(
    main: Sequence[tuple[str, dict[str, Any]]],
    final: Sequence[tuple[str, dict[str, Any]]],
) -> list[FieldError]:
    """Problems of the refIds and edges of both blocks; stages come as (JSON path, stage object)."""
    errors: list[FieldError] = []
    nodes = [_Node(path, MAIN, stage) for path, stage in main]
    nodes += [_Node(path, FINALLY, stage) for path, stage in final]
    by_ref = _collect_ref_ids(nodes, errors)
    for node in nodes:
        _collect_requisites(node, by_ref, errors)
    for block in (MAIN, FINALLY):
        errors.extend(_cycle_errors([n for n in nodes if n.block == block and n.ref_id is not None], by_ref))
    return errors


def _collect_ref_ids(nodes: list[_Node], errors: list[FieldError]) -> dict[str, _Node]:
    by_ref: dict[str, _Node] = {}
    for block in (MAIN, FINALLY):
        members = [n for n in nodes if n.block == block]
        # A block is linear only when no stage has a refId (assign_linear_ref_ids fills those);
        # a stage without one among stages that have one could never be waited for.
        mixed = any(n.stage.get("refId") is not None for n in members)
        for node in members:
            raw = node.stage.get("refId")
            if raw is None:
                if mixed:
                    errors.append(
                        FieldError(f"{node.path}.refId", "is required when other stages have a refId")
                    )
                continue
            ref = ref_id_text(raw)
            if ref is None or ref == "":
                errors.append(FieldError(f"{node.path}.refId", "must be a non-empty string"))
                continue
            first = by_ref.get(ref)
            if first is not None:
                errors.append(
                    FieldError(f"{node.path}.refId", f"duplicate refId '{ref}' (also at {first.path})")
                )
                continue
            node.ref_id = ref
            by_ref[ref] = node
    return by_ref


def _collect_requisites(node: _Node, by_ref: dict[str, _Node], errors: list[FieldError]) -> None:
    path = f"{node.path}.requisiteStageRefIds"
    raw = node.stage.get("requisiteStageRefIds")
    if raw is None:
        return
    if not isinstance(raw, list):
        errors.append(FieldError(path, "must be a list of refIds"))
        return
    for index, value in enumerate(raw):
        item_path = f"{path}[{index}]"
        ref = ref_id_text(value)
        if ref is None:
            errors.append(FieldError(item_path, "must be a string (a refId)"))
            continue
        target = by_ref.get(ref)
        if target is None:
            errors.append(FieldError(item_path, f"no stage has refId '{ref}'"))
        elif target.block != node.block:
            if node.block == FINALLY:
                message = f"'{ref}' is a main stage; finally stages may only wait for finally stages"
            else:
                message = f"'{ref}' is a finally stage; main stages cannot wait for finally stages"
            errors.append(FieldError(item_path, message))
        elif node.ref_id is not None:
            node.requisites.append((item_path, ref))


def _cycle_errors(nodes: list[_Node], by_ref: dict[str, _Node]) -> list[FieldError]:
    order = {n.ref_id: i for i, n in enumerate(nodes)}
    edges = {
        n.ref_id: [ref for _, ref in n.requisites if ref in order] for n in nodes if n.ref_id is not None
    }
    errors = []
    for cycle in find_cycles(edges):
        # Start the report at the stage listed first, so the message reads in pipeline order.
        start = min(range(len(cycle)), key=lambda i: order[cycle[i]])
        cycle = cycle[start:] + cycle[:start]
        loop = " -> ".join(f"'{ref}'" for ref in [*cycle, cycle[0]])
        errors.append(
            FieldError(
                f"{by_ref[cycle[0]].path}.requisiteStageRefIds",
                f"stages wait for each other in a cycle: {loop} (a -> b: a waits for b)",
            )
        )
    return errors


def find_cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """One cycle per distinct set of nodes reachable as a loop (iterative DFS; no recursion limit)."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(edges, white)
    seen: set[frozenset[str]] = set()
    cycles: list[list[str]] = []
    for start in edges:
        if color[start] != white:
            continue
        color[start] = grey
        path = [start]
        stack = [iter(edges[start])]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                color[path.pop()] = black
                stack.pop()
            elif color[nxt] == white:
                color[nxt] = grey
                path.append(nxt)
                stack.append(iter(edges[nxt]))
            elif color[nxt] == grey:
                cycle = path[path.index(nxt) :]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    cycles.append(cycle)
    return cycles
