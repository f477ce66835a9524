"""The stage graph of an execution as the UI draws it: the view model (top-level stages as nodes,
their synthetic before/after stages grouped under them, edges from ``requisiteStageRefIds``, the
``finally`` block apart) and its layered layout, computed by grandalf's Sugiyama layout.

Left to right, as Deck draws pipelines: a stage's column is its depth in the graph, parallel
branches stack in one column, and a join sits right of everything it waits for. Layout runs on
the server so the graph reads without JavaScript and the layout is unit-tested in Python.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gennaker.model.execution import Stage

NODE_WIDTH = 184
NODE_HEIGHT = 56
#: Space between columns (edges run here) and between nodes of one column.
COLUMN_GAP = 56
ROW_GAP = 20
#: Space between unconnected parts of the graph, stacked top to bottom.
COMPONENT_GAP = 28
MARGIN = 8


@dataclass(frozen=True)
class SyntheticStep:
    """A synthetic stage shown inside its top-level parent (``depth`` 1 for a direct child)."""

    id: str
    name: str
    type: str
    status: str
    owner: str
    depth: int


@dataclass
class Node:
    """A top-level stage, placed at ``x``, ``y`` (its top-left corner)."""

    id: str
    ref_id: str
    name: str
    type: str
    status: str
    requisites: tuple[str, ...]
    steps: tuple[SyntheticStep, ...] = ()
    column: int = 0
    x: float = 0.0
    y: float = 0.0


@dataclass(frozen=True)
class Link:
    """An edge from the stage ``source`` to the stage ``target`` (ids), through ``points``."""

    source: str
    target: str
    points: tuple[tuple[float, float], ...]


@dataclass
class Layout:
    """One block of the graph (the main graph or the finally block), laid out."""

    nodes: list[Node] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0

    def node(self, ref_id: str) -> Node | None:
        """The node with this refId."""
        return next((n for n in self.nodes if n.ref_id == ref_id), None)


@dataclass
class ExecutionGraph:
    """The main graph and, when the pipeline has one, its finally block."""

    main: Layout
    finally_block: Layout | None


def synthetic_steps(stages: Sequence[Stage], parent: Stage) -> tuple[SyntheticStep, ...]:
    """The synthetic stages under ``parent`` (all depths), before-stages first, in stored order."""
    children: dict[str, list[Stage]] = {}
    for stage in stages:
        if stage.parent_stage_id is not None:
            children.setdefault(stage.parent_stage_id, []).append(stage)
    out: list[SyntheticStep] = []

    def walk(stage_id: str, depth: int, seen: frozenset[str]) -> None:
        kids = children.get(stage_id, [])
        ordered = [k for k in kids if k.synthetic_stage_owner != "STAGE_AFTER"] + [
            k for k in kids if k.synthetic_stage_owner == "STAGE_AFTER"
        ]
        for kid in ordered:
            if kid.id in seen:
                continue  # a parent loop in malformed data must not hang the page
            out.append(
                SyntheticStep(
                    kid.id,
                    kid.name,
                    kid.type,
                    kid.status.value,
                    kid.synthetic_stage_owner or "",
                    depth,
                )
            )
            walk(kid.id, depth + 1, seen | {kid.id})

    walk(parent.id, 1, frozenset({parent.id}))
    return tuple(out)


def columns(nodes: Sequence[Node]) -> dict[str, int]:
    """Each refId's column: 0 without requisites, else one right of its deepest requisite."""
    by_ref = {n.ref_id: n for n in nodes}
    result: dict[str, int] = {}

    def depth(ref: str, visiting: frozenset[str]) -> int:
        if ref in result:
            return result[ref]
        node = by_ref[ref]
        parents = [r for r in node.requisites if r in by_ref and r not in visiting]
        value = 0 if not parents else 1 + max(depth(r, visiting | {ref}) for r in parents)
        result[ref] = value
        return value

    for node in nodes:
        depth(node.ref_id, frozenset())
    return result


def block_nodes(stages: Sequence[Stage], top_level: Iterable[Stage]) -> list[Node]:
    """Nodes for these top-level stages, with their synthetic stages grouped and columns set."""
    nodes = [
        Node(
            id=s.id,
            ref_id=s.ref_id or s.id,
            name=s.name or s.type,
            type=s.type,
            status=s.status.value,
            requisites=tuple(s.requisite_stage_ref_ids),
            steps=synthetic_steps(stages, s),
        )
        for s in top_level
    ]
    depths = columns(nodes)
    for node in nodes:
        node.column = depths[node.ref_id]
    return nodes


class _Box:
    """What grandalf needs of a vertex's drawing: its size; it writes ``xy`` (the centre).

    Sizes are given rotated (width <-> height) because grandalf layers top to bottom and the UI
    reads left to right."""

    def __init__(self) -> None:
        self.w = NODE_HEIGHT + ROW_GAP
        self.h = NODE_WIDTH
        self.xy: tuple[float, float] = (0.0, 0.0)


class _Route:
    """Receives an edge's route from grandalf (through the dummy vertices of long edges)."""

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def setpath(self, points: list[tuple[float, float]]) -> None:
        self.points = list(points)


def _spread_layers(component: object, slot: float) -> None:
    """Keep ``slot`` between neighbours of one layer (stages and the bends of long edges).

    grandalf averages four alignments to place a layer, which can bring two of its members closer
    than their size; a sweep down each layer restores the gap and keeps their order."""
    members: dict[float, list[tuple[float, object, int]]] = {}
    for vertex in component.sV:  # type: ignore[attr-defined]
        x, y = vertex.view.xy
        members.setdefault(round(y, 3), []).append((x, vertex, -1))
    for edge in component.sE:  # type: ignore[attr-defined]
        for index, (x, y) in enumerate(edge.view.points[1:-1], start=1):
            members.setdefault(round(y, 3), []).append((x, edge, index))
    for layer in members.values():
        layer.sort(key=lambda m: m[0])
        previous = None
        for x, owner, index in layer:
            new_x = x if previous is None else max(x, previous + slot)
            previous = new_x
            if index < 0:
                owner.view.xy = (new_x, owner.view.xy[1])  # type: ignore[attr-defined]
            else:
                points = owner.view.points  # type: ignore[attr-defined]
                points[index] = (new_x, points[index][1])
    for edge in component.sE:  # type: ignore[attr-defined]
        points = edge.view.points
        if points:
            points[0], points[-1] = edge.v[0].view.xy, edge.v[1].view.xy


def layout(nodes: list[Node]) -> Layout:
    """Place the nodes (left to right by column) and route the edges; unconnected parts stack."""
    if not nodes:
        return Layout()
    # grandalf's layouts bring numpy: loaded with the first graph drawn, not when the server starts.
    from grandalf.graphs import Edge as GEdge
    from grandalf.graphs import Graph as GGraph
    from grandalf.graphs import Vertex as GVertex
    from grandalf.layouts import SugiyamaLayout

    by_ref = {n.ref_id: n for n in nodes}
    vertices = {n.ref_id: GVertex(n.ref_id) for n in nodes}
    for vertex in vertices.values():
        vertex.view = _Box()
    edges: list[tuple[Node, Node, GEdge]] = []
    for node in nodes:
        for req in dict.fromkeys(node.requisites):
            if req in by_ref and req != node.ref_id:
                edge = GEdge(vertices[req], vertices[node.ref_id])
                edge.view = _Route()
                edges.append((by_ref[req], node, edge))
    graph = GGraph(list(vertices.values()), [e for _, _, e in edges])
    slot = NODE_HEIGHT + ROW_GAP
    top = float(MARGIN)
    width = 0.0
    centres: dict[str, tuple[float, float]] = {}
    for component in graph.C:
        sugiyama = SugiyamaLayout(component)
        sugiyama.xspace = 0
        sugiyama.yspace = COLUMN_GAP
        sugiyama.init_all()
        sugiyama.draw(3)
        _spread_layers(component, slot)
        points = [v.view.xy for v in component.sV]
        points += [p for e in component.sE for p in e.view.points]
        # grandalf layers top to bottom; its y becomes our x and its x our y.
        low_x = min(p[0] for p in points) - slot / 2
        low_y = min(p[1] for p in points) - NODE_WIDTH / 2

        def place(
            point: tuple[float, float], low_x: float = low_x, low_y: float = low_y, top: float = top
        ) -> tuple[float, float]:
            return (MARGIN + point[1] - low_y, top + point[0] - low_x - ROW_GAP / 2)

        for vertex in component.sV:
            centres[vertex.data] = place(vertex.view.xy)
        for _, _, edge in edges:
            if edge.v[0] in component.sV:
                edge.view.points = [place(p) for p in edge.view.points]
        bottom = max(p[0] for p in points) - low_x + slot / 2
        width = max(width, max(MARGIN + p[1] - low_y for p in points) + NODE_WIDTH / 2)
        top += bottom - ROW_GAP + COMPONENT_GAP
    for node in nodes:
        cx, cy = centres[node.ref_id]
        node.x, node.y = cx - NODE_WIDTH / 2, cy - NODE_HEIGHT / 2
    links = []
    for source, target, edge in edges:
        via = tuple(edge.view.points[1:-1])
        start = (source.x + NODE_WIDTH, source.y + NODE_HEIGHT / 2)
        end = (target.x, target.y + NODE_HEIGHT / 2)
        links.append(Link(source.id, target.id, (start, *via, end)))
    return Layout(nodes, links, width + MARGIN, top - COMPONENT_GAP + MARGIN)


_Shape = tuple[tuple[str, str, tuple[str, ...]], ...]


class LayoutCache:
    """Remembers layouts by the graph's shape (ids, refIds, requisites), so a live page that is
    re-read on every stage transition pays for the layout once. Kept on the app, bounded."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._saved: OrderedDict[_Shape, Layout] = OrderedDict()
        # Pages render in the server's worker threads.
        self._lock = threading.Lock()

    def layout(self, nodes: list[Node]) -> Layout:
        """``layout(nodes)``, or the remembered geometry applied to these nodes."""
        shape = tuple((n.id, n.ref_id, n.requisites) for n in nodes)
        with self._lock:
            saved = self._saved.get(shape)
            if saved is not None:
                self._saved.move_to_end(shape)
        if saved is None:
            made = layout(nodes)
            with self._lock:
                self._saved[shape] = made
                while len(self._saved) > self.size:
                    self._saved.popitem(last=False)
            return made
        for node, old in zip(nodes, saved.nodes, strict=True):
            node.column, node.x, node.y = old.column, old.x, old.y
        return Layout(nodes, saved.links, saved.width, saved.height)


def execution_graph(stages: Sequence[Stage], cache: LayoutCache | None = None) -> ExecutionGraph:
    """The laid-out graph of an execution's stages (Spinnaker's execution JSON, read as Stages)."""
    place = layout if cache is None else cache.layout
    main = [s for s in stages if s.parent_stage_id is None and not s.is_finally]
    final = [s for s in stages if s.parent_stage_id is None and s.is_finally]
    return ExecutionGraph(
        place(block_nodes(stages, main)),
        place(block_nodes(stages, final)) if final else None,
    )


def stage_order(stages: Sequence[Stage]) -> list[Stage]:
    """Top-level stages in reading order (by column, then as stored), finally stages last: the
    chips of an execution row."""
    main = [s for s in stages if s.parent_stage_id is None and not s.is_finally]
    final = [s for s in stages if s.parent_stage_id is None and s.is_finally]
    out: list[Stage] = []
    for block in (main, final):
        nodes = block_nodes((), block)
        depth = {n.id: n.column for n in nodes}
        out.extend(sorted(block, key=lambda s: depth[s.id]))
    return out
