"""The engine's work per stage does not grow with the pipeline's size, for a wide fan-out and a
long chain: counted (SQL statements, stage rows written, stage rows parsed and serialised, graph
indexes built), never timed. A return of a quadratic path (re-reading the whole execution in every
transaction, re-serialising every stage to find the changed ones, re-indexing the graph for every
join check) multiplies a count per stage by the pipeline's size and fails here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from gennaker.model import stage_index
from gennaker.model.execution import Stage
from gennaker.model.status import ExecutionStatus
from gennaker.services import Services
from gennaker.testing import make_services, run_until_idle
from tests.engine.fakes import EngineTestPlugin


def _wait(ref: str, *requisites: str) -> dict[str, Any]:
    return {
        "refId": ref,
        "type": "wait",
        "name": f"w{ref}",
        "waitTime": 0,
        "requisiteStageRefIds": list(requisites),
    }


def _queued(ref: str, *requisites: str) -> dict[str, Any]:
    # evaluateVariables is not pure: each of its tasks goes through the queue (two transactions).
    return {
        "refId": ref,
        "type": "evaluateVariables",
        "name": f"v{ref}",
        "variables": [{"key": f"k{ref}", "value": ref}],
        "requisiteStageRefIds": list(requisites),
    }


def chain(size: int, make: Any = _wait) -> list[dict[str, Any]]:
    return [make("1")] + [make(str(i), str(i - 1)) for i in range(2, size + 1)]


def fan_out(size: int) -> list[dict[str, Any]]:
    middle = [_wait(f"m{i}", "start") for i in range(size - 2)]
    return [_wait("start"), *middle, _wait("join", *(s["refId"] for s in middle))]


@contextmanager
def counted(services: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Count statements by kind, stage rows written, stages parsed / serialised, indexes built."""
    counts: Counter[str] = Counter()

    def on_execute(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
    ) -> None:
        words = statement.split()
        verb = words[0].upper()
        counts["statements"] += 1
        if verb in ("INSERT", "UPDATE", "DELETE") and "stages" in words[:4]:
            counts["stage rows written"] += len(parameters) if many else 1
        if verb == "SELECT" and "FROM stages" in statement and "max(" not in statement.lower():
            counts["stage reads"] += 1

    from_json, to_json, index_init = Stage.from_json, Stage.to_json, stage_index.StageIndex.__init__

    def counting_from_json(data: dict[str, Any]) -> Stage:
        counts["stages parsed"] += 1
        return from_json(data)

    def counting_to_json(self: Stage) -> dict[str, Any]:
        counts["stages serialised"] += 1
        return to_json(self)

    def counting_index_init(self: stage_index.StageIndex, stages: stage_index.StageList) -> None:
        counts["indexes built"] += 1
        index_init(self, stages)

    monkeypatch.setattr(Stage, "from_json", staticmethod(counting_from_json))
    monkeypatch.setattr(Stage, "to_json", counting_to_json)
    monkeypatch.setattr(stage_index.StageIndex, "__init__", counting_index_init)
    event.listen(services.db.engine, "before_cursor_execute", on_execute)
    try:
        yield counts
    finally:
        event.remove(services.db.engine, "before_cursor_execute", on_execute)


def per_stage(
    database_url: str, stages: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> dict[str, float]:
    # verify_writes re-serialises every stage on purpose; it is what this test must not count.
    services = make_services(database_url, plugins=(EngineTestPlugin(),), engine__verify_writes=False)
    try:
        execution = services.launcher.start_pipeline(
            {"application": "app", "name": "p", "id": "cfg", "stages": stages}, None
        )
        with monkeypatch.context() as patch, counted(services, patch) as counts:
            run_until_idle(services)
        with services.db.read() as conn:
            assert services.executions.load(conn, execution.id).status == ExecutionStatus.SUCCEEDED
        return {key: value / len(stages) for key, value in counts.items()}
    finally:
        services.close()


@pytest.mark.parametrize(
    ("shape", "size"),
    [
        # Wider than the inline budget (64 follow-ups per transaction), so both sizes batch alike.
        pytest.param(fan_out, 70, id="fan-out"),
        pytest.param(chain, 70, id="chain"),
        # Every task goes through the queue: no batching to line up.
        pytest.param(lambda n: chain(n, _queued), 20, id="queued-chain"),
    ],
)
def test_work_per_stage_does_not_grow_with_the_pipeline(
    database_url: str, shape: Any, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = per_stage(database_url, shape(size), monkeypatch)
    large = per_stage(database_url, shape(4 * size), monkeypatch)
    # Four times the stages: a quadratic path would make these four times larger per stage.
    # The slack covers fixed per-execution work spread over fewer stages.
    for key in ("statements", "stage rows written", "stage reads", "stages parsed", "stages serialised"):
        assert large.get(key, 0.0) <= small.get(key, 0.0) * 1.25 + 0.1, (key, small, large)
    # A transition reads nothing back: the execution is read once, and every stage row once.
    assert large.get("stages parsed", 0.0) <= 1.0 + 0.05, large
    assert large.get("indexes built", 0.0) <= small.get("indexes built", 0.0) * 1.25 + 0.1, (small, large)


def test_a_copy_written_elsewhere_is_refreshed_from_the_changed_rows_only(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker (here: another read of the same execution) writes one stage; a worker's
    older copy is brought up to date by re-reading that row alone, join counts included."""
    services = make_services(database_url, plugins=(EngineTestPlugin(),))
    try:
        execution = services.launcher.start_pipeline(
            {"application": "app", "name": "p", "id": "cfg", "stages": fan_out(40)}, None
        )
        repo = services.executions
        with services.db.read() as conn:
            ours = repo.load(conn, execution.id)
        join = ours.stage_by_ref_id("join")
        assert join is not None and not ours.index().all_upstream_done(join)
        with services.db.transaction() as conn:
            theirs = repo.load(conn, execution.id, for_update=True)
            for stage in theirs.stages:
                if stage.ref_id != "join":
                    stage.status = ExecutionStatus.SUCCEEDED
            repo.save(conn, theirs)
        with monkeypatch.context() as patch, counted(services, patch) as counts:
            with services.db.transaction() as conn:
                revision = repo.revision_of(conn, execution.id, for_update=True)
                assert revision is not None
                refreshed = repo.refresh(conn, ours, revision)
        assert refreshed is ours
        assert counts["stages parsed"] == 39  # the rows written, not the join
        assert ours.index().all_upstream_done(join)
        assert ours.to_json() == theirs.to_json()
        # A header change (or stages added, removed, moved) is not patched up: read it all again.
        with services.db.transaction() as conn:
            theirs.status = ExecutionStatus.CANCELED
            repo.save(conn, theirs)
            revision = repo.revision_of(conn, execution.id, for_update=True)
            assert revision is not None
            assert repo.refresh(conn, ours, revision) is None
    finally:
        services.close()
