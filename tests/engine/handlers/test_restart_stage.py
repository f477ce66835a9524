"""RestartStage (§2.8): reset a finished top-level stage and the finished stages after it, then run
it again; a finished execution that gave up its lock or concurrency slot must win it back first."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import restart_stage
from gennaker.engine.runtime import HandlerContext
from gennaker.model.execution import STAGE_AFTER, Execution
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import NOW, msg, pipeline, push, stage, task
from tests.engine.handlers.conftest import Engine

BOOM = {"details": {"errors": ["boom"]}}


def _restart(engine: Engine, stage_id: str, user: str | None = "bob") -> HandlerContext:
    return engine.handle(restart_stage.handle, msg(m.RestartStage, engine.load("ex1"), stage_id, user=user))


def _failed(**attributes: object) -> Execution:
    return pipeline(
        stage("1", status=S.SUCCEEDED, tasks=[task("1", S.SUCCEEDED)]),
        stage(
            "2", status=S.TERMINAL, upstream=("1",), tasks=[task("1", S.TERMINAL)], exception=BOOM, keep="me"
        ),
        stage("3", upstream=("2",)),
        stage("4", status=S.SUCCEEDED),
        status=S.TERMINAL,
        **attributes,
    )


def test_resets_the_stage_and_runs_the_execution_again(engine: Engine) -> None:
    execution = engine.store(_failed())
    ctx = _restart(engine, "s2")
    assert ctx.pushes == [push(m.StartStage, execution, "s2")]
    assert [(e.type, e.body["refId"], e.body["user"], e.body["status"]) for e in ctx.events] == [
        ("stage.restarted", "2", "bob", "NOT_STARTED")
    ]
    stored = engine.load(execution.id)
    assert (stored.status, stored.end_time) == (S.RUNNING, None)
    restarted = stored.stage("s2")
    assert restarted is not None
    assert (restarted.status, restarted.start_time, restarted.end_time, restarted.tasks) == (
        S.NOT_STARTED,
        None,
        None,
        [],
    )
    assert "exception" not in restarted.context
    assert restarted.context["keep"] == "me"
    assert restarted.context["restartDetails"] == {
        "restartedBy": "bob",
        "restartTime": NOW,
        "previousException": BOOM,
    }
    assert [s.status for s in stored.stages] == [S.SUCCEEDED, S.NOT_STARTED, S.NOT_STARTED, S.SUCCEEDED]


def test_resets_the_finished_stages_downstream_but_not_other_branches(engine: Engine) -> None:
    execution = engine.store(
        pipeline(
            stage("1", status=S.SUCCEEDED),
            stage("2", status=S.SUCCEEDED, upstream=("1",), outputs={"v": 1}),
            stage("3", status=S.STOPPED, upstream=("2",)),
            stage("4", status=S.SUCCEEDED),
            status=S.SUCCEEDED,
        )
    )
    assert _restart(engine, "s1").pushes == [push(m.StartStage, execution, "s1")]
    stored = engine.load(execution.id)
    assert [s.status for s in stored.stages] == [S.NOT_STARTED] * 3 + [S.SUCCEEDED]


def test_removes_the_synthetic_stages_of_what_it_resets(engine: Engine) -> None:
    parent = stage("1", "parent", S.TERMINAL, tasks=[task("1", S.SUCCEEDED)], afterStagesPlanned=True)
    child = stage("1>1", status=S.TERMINAL, parent=parent, owner=STAGE_AFTER)
    grandchild = stage("1>1<1", status=S.SUCCEEDED, parent=child)
    engine.store(pipeline(parent, grandchild, child, status=S.TERMINAL))
    _restart(engine, "s1")
    stored = engine.load("ex1")
    assert [s.ref_id for s in stored.stages] == ["1"]
    assert "afterStagesPlanned" not in stored.stages[0].context


def test_a_synthetic_stage_restarts_its_top_level_stage(engine: Engine) -> None:
    parent = stage("1", "parent", S.TERMINAL)
    engine.store(pipeline(stage("1<1", status=S.TERMINAL, parent=parent), parent, status=S.TERMINAL))
    ctx = _restart(engine, "s1<1")
    assert ctx.pushes == [push(m.StartStage, engine.load("ex1"), "s1")]
    assert [s.ref_id for s in engine.load("ex1").stages] == ["1"]


def test_a_running_stage_is_not_restarted(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.RUNNING, tasks=[task("1", S.RUNNING)])))
    ctx = _restart(engine, "s1")
    assert ctx.pushes == [] and ctx.events == []
    assert engine.load("ex1").stages[0].tasks[0].status == S.RUNNING


def test_a_stage_that_never_ran_may_be_restarted(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", status=S.STOPPED), stage("2", upstream=("1",))))
    assert _restart(engine, "s2", user=None).pushes == [push(m.StartStage, execution, "s2")]
    assert engine.load("ex1").stages[1].context["restartDetails"]["restartedBy"] == "anonymous"


def test_a_canceled_execution_is_no_longer_canceled(engine: Engine) -> None:
    engine.store(
        _failed(
            canceled=True,
            canceled_by="ann",
            cancellation_reason="oops",
            state={"outcome": "CANCELED", "finallyCanceled": True},
        )
    )
    _restart(engine, "s2")
    stored = engine.load("ex1")
    assert (stored.canceled, stored.canceled_by, stored.cancellation_reason) == (False, None, None)
    assert stored.state == {}


def test_restarting_the_main_graph_runs_the_finally_block_again(engine: Engine) -> None:
    engine.store(
        pipeline(
            stage("1", status=S.TERMINAL),
            stage("f1", status=S.SUCCEEDED, is_finally=True, tasks=[task("1", S.SUCCEEDED)]),
            stage("f2", status=S.SUCCEEDED, is_finally=True, upstream=("f1",)),
            status=S.TERMINAL,
            state={"outcome": "TERMINAL"},
        )
    )
    _restart(engine, "s1")
    stored = engine.load("ex1")
    assert [s.status for s in stored.stages] == [S.NOT_STARTED] * 3
    assert "outcome" not in stored.state


def test_restarting_a_finally_stage_leaves_the_main_graph(engine: Engine) -> None:
    engine.store(
        pipeline(
            stage("1", status=S.SUCCEEDED),
            stage("f1", status=S.TERMINAL, is_finally=True),
            stage("f2", status=S.SUCCEEDED, is_finally=True),
            status=S.TERMINAL,
        )
    )
    ctx = _restart(engine, "sf1")
    assert ctx.pushes == [push(m.StartStage, engine.load("ex1"), "sf1")]
    assert [s.status for s in engine.load("ex1").stages] == [S.SUCCEEDED, S.NOT_STARTED, S.SUCCEEDED]


def test_the_stage_type_prepares_for_the_restart(engine: Engine) -> None:
    engine.store(pipeline(stage("1", "restartAware", S.TERMINAL, judgment="stop"), status=S.TERMINAL))
    _restart(engine, "s1")
    context = engine.load("ex1").stages[0].context
    assert "judgment" not in context
    assert context["preparedForRestart"] is True


def test_a_finished_execution_with_a_limit_waits_its_turn_first(engine: Engine) -> None:
    for attributes in (
        {"limit_concurrent": True},
        {"max_concurrent_executions": 2},
        {"locks": [{"name": "env"}]},
    ):
        name = f"ex-{next(iter(attributes))}"
        execution = engine.store(pipeline(*_failed().stages, id=name, status=S.TERMINAL, **attributes))
        ctx = engine.handle(restart_stage.handle, msg(m.RestartStage, execution, f"{name}.s2", user="bob"))
        assert ctx.pushes == [push(m.StartExecution, execution)], name
        stored = engine.load(name)
        assert stored.status == S.NOT_STARTED
        assert stored.state["pendingRestart"] == {"stageId": f"{name}.s2", "user": "bob"}


def test_a_running_execution_with_a_limit_restarts_at_once(engine: Engine) -> None:
    execution = engine.store(
        pipeline(stage("1", status=S.STOPPED), stage("2", status=S.RUNNING), limit_concurrent=True)
    )
    assert _restart(engine, "s1").pushes == [push(m.StartStage, execution, "s1")]
    assert engine.load(execution.id).status == S.RUNNING


def test_an_unknown_stage_ends_the_execution_terminal(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.RUNNING)))
    ctx = _restart(engine, "nope")
    assert [e.type for e in ctx.events] == ["pipeline.failed"]
