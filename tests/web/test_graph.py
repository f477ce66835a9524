"""The stage graph's view model and layout (gennaker.web.graph): columns by depth, parallel
branches side by side, joins right of what they wait for, synthetic stages grouped under their
parent, the finally block apart, and a 100-stage pipeline laid out without overlaps."""

from __future__ import annotations

import random
from itertools import combinations

from gennaker.model.execution import Stage
from gennaker.model.status import ExecutionStatus
from gennaker.web.graph import NODE_HEIGHT, NODE_WIDTH, Layout, LayoutCache, execution_graph, stage_order


def stage(ref: str, *requisites: str, **fields: object) -> Stage:
    return Stage(
        id=f"id-{ref}",
        ref_id=ref,
        type=str(fields.pop("type", "wait")),
        name=str(fields.pop("name", f"Stage {ref}")),
        requisite_stage_ref_ids=list(requisites),
        **fields,  # type: ignore[arg-type]
    )


def overlaps(layout: Layout) -> list[tuple[str, str]]:
    found = []
    for a, b in combinations(layout.nodes, 2):
        if abs(a.x - b.x) < NODE_WIDTH and abs(a.y - b.y) < NODE_HEIGHT:
            found.append((a.ref_id, b.ref_id))
    return found


def test_parallel_branches_share_a_column_and_the_join_sits_right_of_both() -> None:
    graph = execution_graph([stage("1"), stage("2", "1"), stage("3", "1"), stage("4", "2", "3")])
    nodes = {n.ref_id: n for n in graph.main.nodes}
    assert [nodes[r].column for r in "1234"] == [0, 1, 1, 2]
    assert nodes["2"].x == nodes["3"].x > nodes["1"].x
    assert nodes["2"].y != nodes["3"].y
    assert nodes["4"].x > nodes["2"].x
    assert not overlaps(graph.main)
    assert graph.finally_block is None


def test_edges_leave_the_right_side_and_enter_the_left_side() -> None:
    graph = execution_graph([stage("1"), stage("2", "1"), stage("3", "1"), stage("4", "2", "3")])
    by_id = {n.id: n for n in graph.main.nodes}
    assert {(link.source, link.target) for link in graph.main.links} == {
        ("id-1", "id-2"),
        ("id-1", "id-3"),
        ("id-2", "id-4"),
        ("id-3", "id-4"),
    }
    for link in graph.main.links:
        source, target = by_id[link.source], by_id[link.target]
        assert link.points[0] == (source.x + NODE_WIDTH, source.y + NODE_HEIGHT / 2)
        assert link.points[-1] == (target.x, target.y + NODE_HEIGHT / 2)


def test_a_long_edge_is_routed_through_the_columns_it_skips() -> None:
    # 1 -> 2 -> 3 -> 4 and 1 -> 4: the long edge must not run through 2 and 3.
    graph = execution_graph([stage("1"), stage("2", "1"), stage("3", "2"), stage("4", "3", "1")])
    long_edge = next(link for link in graph.main.links if (link.source, link.target) == ("id-1", "id-4"))
    assert len(long_edge.points) == 4  # start, one bend per skipped column, end
    nodes = {n.ref_id: n for n in graph.main.nodes}
    for x, y in long_edge.points[1:-1]:
        for ref in ("2", "3"):
            node = nodes[ref]
            assert not (node.x <= x <= node.x + NODE_WIDTH and node.y <= y <= node.y + NODE_HEIGHT)


def test_synthetic_stages_are_grouped_under_their_parent_not_drawn_as_nodes() -> None:
    parent = stage("1", name="Deploy", type="deploy")
    before = Stage(
        id="b",
        ref_id="1<1",
        type="check",
        name="Check",
        parent_stage_id="id-1",
        synthetic_stage_owner="STAGE_BEFORE",
    )
    after = Stage(
        id="a",
        ref_id="1>1",
        type="notify",
        name="Tell",
        parent_stage_id="id-1",
        synthetic_stage_owner="STAGE_AFTER",
    )
    nested = Stage(
        id="n",
        ref_id="1<1<1",
        type="sub",
        name="Inner",
        parent_stage_id="b",
        synthetic_stage_owner="STAGE_BEFORE",
    )
    graph = execution_graph([parent, after, before, nested, stage("2", "1")])
    assert [n.ref_id for n in graph.main.nodes] == ["1", "2"]
    steps = graph.main.nodes[0].steps
    assert [(s.name, s.depth, s.owner) for s in steps] == [
        ("Check", 1, "STAGE_BEFORE"),
        ("Inner", 2, "STAGE_BEFORE"),
        ("Tell", 1, "STAGE_AFTER"),
    ]


def test_finally_stages_are_laid_out_apart() -> None:
    graph = execution_graph(
        [stage("1"), stage("2", "1"), stage("f1", is_finally=True), stage("f2", "f1", is_finally=True)]
    )
    assert [n.ref_id for n in graph.main.nodes] == ["1", "2"]
    assert graph.finally_block is not None
    assert [(n.ref_id, n.column) for n in graph.finally_block.nodes] == [("f1", 0), ("f2", 1)]


def test_unconnected_parts_stack_and_bad_references_are_ignored() -> None:
    graph = execution_graph([stage("1"), stage("2", "1", "missing"), stage("x"), stage("y", "y")])
    assert not overlaps(graph.main)
    assert {(link.source, link.target) for link in graph.main.links} == {("id-1", "id-2")}
    assert graph.main.height >= 3 * NODE_HEIGHT


def test_a_cycle_in_stored_data_still_lays_out() -> None:
    graph = execution_graph([stage("1", "2"), stage("2", "1")])
    assert len(graph.main.nodes) == 2
    assert not overlaps(graph.main)


def test_one_hundred_stages_with_branches_and_joins() -> None:
    rng = random.Random(7)
    stages = [stage("0")]
    for i in range(1, 100):
        parents = {str(rng.randrange(max(0, i - 6), i)) for _ in range(rng.choice((1, 1, 2)))}
        stages.append(stage(str(i), *sorted(parents)))
    graph = execution_graph(stages)
    nodes = {n.ref_id: n for n in graph.main.nodes}
    assert len(nodes) == 100
    assert not overlaps(graph.main)
    for s in stages:
        for parent in s.requisite_stage_ref_ids:
            assert nodes[s.ref_id or ""].column > nodes[parent].column
            assert nodes[s.ref_id or ""].x > nodes[parent].x
    assert all(0 <= n.x and n.x + NODE_WIDTH <= graph.main.width for n in nodes.values())
    assert all(0 <= n.y and n.y + NODE_HEIGHT <= graph.main.height for n in nodes.values())


def test_chips_read_in_graph_order_with_finally_last() -> None:
    stages = [
        stage("f", is_finally=True, name="Cleanup"),
        stage("3", "2", name="Third"),
        stage("2", "1", name="Second"),
        stage("1", name="First", status=ExecutionStatus.SUCCEEDED),
    ]
    assert [s.name for s in stage_order(stages)] == ["First", "Second", "Third", "Cleanup"]


def test_the_cache_reuses_geometry_and_keeps_the_new_statuses() -> None:
    cache = LayoutCache()
    first = execution_graph([stage("1"), stage("2", "1"), stage("3", "1")], cache)
    again = execution_graph(
        [stage("1", status=ExecutionStatus.SUCCEEDED), stage("2", "1"), stage("3", "1")], cache
    )
    assert [(n.x, n.y) for n in again.main.nodes] == [(n.x, n.y) for n in first.main.nodes]
    assert again.main.nodes[0].status == "SUCCEEDED"
    changed = execution_graph([stage("1"), stage("2", "1"), stage("3", "2")], cache)
    assert changed.main.nodes[2].column == 2
