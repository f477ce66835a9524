"""StartExecution (StartExecutionHandler): gates, parking, cancel-before-start, expiry, initial stages."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import start_execution
from gennaker.engine.runtime import HandlerContext
from gennaker.model.execution import ORCHESTRATION
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import CONFIG_ID, NOW, msg, pipeline, push, stage
from tests.engine.handlers.conftest import Engine


def _start(engine: Engine, execution_id: str = "ex1") -> HandlerContext:
    execution = engine.load(execution_id)
    return engine.handle(start_execution.handle, msg(m.StartExecution, execution))


def test_starts_the_initial_stages_of_each_branch(engine: Engine) -> None:
    execution = engine.store(
        pipeline(
            stage("1"),
            stage("2"),
            stage("3", upstream=("1", "2")),
            stage("f", is_finally=True),
            status=S.NOT_STARTED,
        )
    )
    ctx = _start(engine)
    assert ctx.pushes == [push(m.StartStage, execution, "s1"), push(m.StartStage, execution, "s2")]
    assert [(e.type, e.body["status"]) for e in ctx.events] == [("pipeline.starting", "RUNNING")]
    started = engine.load(execution.id)
    assert started.status == S.RUNNING
    assert started.start_time == NOW
    assert started.end_time is None
    assert [s.status for s in started.stages] == [S.NOT_STARTED] * 4


def test_ignores_an_execution_that_already_started(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", status=S.RUNNING), status=S.RUNNING))
    ctx = _start(engine)
    assert ctx.pushes == [] and ctx.events == []
    assert engine.load(execution.id).start_time == execution.start_time


def test_ignores_a_finished_execution(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.SUCCEEDED), status=S.SUCCEEDED))
    ctx = _start(engine)
    assert ctx.pushes == [] and ctx.events == []
    assert engine.load("ex1").status == S.SUCCEEDED


def test_an_execution_that_no_longer_exists_is_ignored(engine: Engine) -> None:
    ghost = pipeline(stage("1"), id="gone", status=S.NOT_STARTED)
    ctx = engine.handle(start_execution.handle, msg(m.StartExecution, ghost))
    assert ctx.pushes == [] and ctx.events == []


def test_canceled_before_it_started_ends_canceled_and_wakes_waiters(engine: Engine) -> None:
    execution = engine.store(
        pipeline(stage("1"), status=S.NOT_STARTED, canceled=True, canceled_by="bob", limit_concurrent=True)
    )
    engine.park(execution, CONFIG_ID, NOW - 10)
    ctx = _start(engine)
    assert ctx.pushes == [push(m.StartWaitingExecutions, execution, key=CONFIG_ID, purge_queue=True)]
    assert [e.type for e in ctx.events] == ["pipeline.failed"]
    done = engine.load(execution.id)
    assert done.status == S.CANCELED
    assert done.end_time == NOW
    assert done.stages[0].status == S.NOT_STARTED
    assert engine.waiting() == {}


def test_keep_waiting_pipelines_wakes_the_oldest_instead_of_purging(engine: Engine) -> None:
    execution = engine.store(
        pipeline(stage("1"), status=S.NOT_STARTED, canceled=True, keep_waiting_pipelines=True)
    )
    ctx = _start(engine)
    assert ctx.pushes == [push(m.StartWaitingExecutions, execution, key=CONFIG_ID, purge_queue=False)]


def test_past_start_time_expiry_is_canceled(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1"), status=S.NOT_STARTED, start_time_expiry=NOW - 1))
    ctx = _start(engine)
    assert ctx.pushes == [
        push(m.CancelExecution, execution, reason="Could not begin execution before start time expiry")
    ]
    assert ctx.events == []
    assert engine.load(execution.id).status == S.NOT_STARTED


def test_before_start_time_expiry_starts(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1"), status=S.NOT_STARTED, start_time_expiry=NOW + 1))
    ctx = _start(engine)
    assert ctx.pushes == [push(m.StartStage, execution, "s1")]


def test_no_initial_stage_ends_terminal_with_the_reason(engine: Engine) -> None:
    execution = engine.store(pipeline(status=S.NOT_STARTED))
    ctx = _start(engine)
    assert ctx.pushes == [push(m.StartWaitingExecutions, execution, key=CONFIG_ID, purge_queue=True)]
    assert [(e.type, e.body.get("reason")) for e in ctx.events] == [("pipeline.failed", "no initial stage")]
    done = engine.load(execution.id)
    assert done.status == S.TERMINAL
    assert done.extra["errors"] == ["the pipeline has no initial stage"]


def test_limit_concurrent_parks_behind_the_running_execution(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.RUNNING), id="ex0", status=S.RUNNING, limit_concurrent=True))
    waiting = engine.store(pipeline(stage("1"), status=S.NOT_STARTED, limit_concurrent=True))
    ctx = _start(engine)
    assert ctx.pushes == []
    assert [(e.type, e.body["status"]) for e in ctx.events] == [("pipeline.waiting", "NOT_STARTED")]
    assert "limitConcurrent" in ctx.events[0].body["reason"]
    parked = engine.load(waiting.id)
    assert parked.status == S.NOT_STARTED
    assert parked.state["waiting"]["key"] == CONFIG_ID
    assert parked.state["waiting"]["heldBy"] == "ex0"
    assert parked.state["waiting"]["since"] == NOW
    assert engine.waiting() == {waiting.id: CONFIG_ID}


def test_waiting_again_keeps_the_place_in_line(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.RUNNING), id="ex0", status=S.RUNNING, limit_concurrent=True))
    waiting = engine.store(pipeline(stage("1"), status=S.NOT_STARTED, limit_concurrent=True))
    engine.park(waiting, CONFIG_ID, NOW - 5_000)
    _start(engine)
    assert engine.load(waiting.id).state["waiting"]["since"] == NOW - 5_000


def test_paused_executions_count_as_running(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.PAUSED), id="ex0", status=S.PAUSED, limit_concurrent=True))
    engine.store(pipeline(stage("1"), status=S.NOT_STARTED, limit_concurrent=True))
    ctx = _start(engine)
    assert ctx.pushes == []
    assert engine.load("ex1").status == S.NOT_STARTED


def test_finished_executions_of_the_config_do_not_count(engine: Engine) -> None:
    engine.store(
        pipeline(stage("1", status=S.SUCCEEDED), id="ex0", status=S.SUCCEEDED, limit_concurrent=True)
    )
    execution = engine.store(pipeline(stage("1"), status=S.NOT_STARTED, limit_concurrent=True))
    ctx = _start(engine)
    assert ctx.pushes == [push(m.StartStage, execution, "s1")]


def test_other_pipelines_do_not_count(engine: Engine) -> None:
    engine.store(
        pipeline(stage("1", status=S.RUNNING), id="ex0", pipeline_config_id="other", limit_concurrent=True)
    )
    execution = engine.store(pipeline(stage("1"), status=S.NOT_STARTED, limit_concurrent=True))
    assert _start(engine).pushes == [push(m.StartStage, execution, "s1")]


def test_max_concurrent_executions_allows_up_to_the_limit(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.RUNNING), id="ex0", max_concurrent_executions=2))
    second = engine.store(pipeline(stage("1"), status=S.NOT_STARTED, max_concurrent_executions=2))
    assert _start(engine).pushes == [push(m.StartStage, second, "s1")]
    engine.store(pipeline(stage("1"), id="ex2", status=S.NOT_STARTED, max_concurrent_executions=2))
    ctx = _start(engine, "ex2")
    assert ctx.pushes == []
    assert "maxConcurrentExecutions=2" in engine.load("ex2").state["waiting"]["reason"]


def test_orchestrations_have_no_concurrency_limit(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.RUNNING), id="ex0", type=ORCHESTRATION, limit_concurrent=True))
    execution = engine.store(
        pipeline(stage("1"), status=S.NOT_STARTED, type=ORCHESTRATION, limit_concurrent=True)
    )
    assert _start(engine).pushes == [push(m.StartStage, execution, "s1")]


def test_takes_its_locks_and_starts(engine: Engine) -> None:
    execution = engine.store(
        pipeline(stage("1"), status=S.NOT_STARTED, locks=[{"name": "db"}, {"name": "env"}])
    )
    assert _start(engine).pushes == [push(m.StartStage, execution, "s1")]
    assert engine.locks() == {"db": execution.id, "env": execution.id}


def test_a_held_lock_parks_it_and_takes_none_of_its_locks(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.RUNNING), id="holder", pipeline_config_id="other"))
    engine.hold_lock("env", "holder")
    execution = engine.store(
        pipeline(stage("1"), status=S.NOT_STARTED, locks=[{"name": "db"}, {"name": "env"}])
    )
    ctx = _start(engine)
    assert ctx.pushes == []
    assert [(e.type, e.body["reason"]) for e in ctx.events] == [
        ("pipeline.waiting", "waiting for lock env held by holder")
    ]
    assert engine.locks() == {"env": "holder"}
    assert engine.waiting() == {execution.id: "lock:env"}


def test_newest_first_lock_supersedes_older_waiters(engine: Engine) -> None:
    lock = [{"name": "env", "mode": "newest_first"}]
    engine.store(pipeline(stage("1", status=S.RUNNING), id="holder", locks=lock))
    engine.hold_lock("env", "holder")
    older = engine.store(pipeline(stage("1"), id="ex0", status=S.NOT_STARTED, locks=lock))
    engine.park(older, "lock:env", NOW - 100)
    newer = engine.store(pipeline(stage("1"), status=S.NOT_STARTED, locks=lock))
    ctx = _start(engine)
    assert ctx.pushes == [
        push(
            m.CancelExecution,
            older,
            user="gennaker",
            reason=f"Superseded by newer execution {newer.id} waiting for lock env",
        )
    ]
    assert engine.waiting() == {older.id: "lock:env", newer.id: "lock:env"}


def test_a_waiter_that_may_now_start_leaves_the_line(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1"), status=S.NOT_STARTED, limit_concurrent=True))
    engine.park(execution, CONFIG_ID, NOW - 100)
    assert _start(engine).pushes == [push(m.StartStage, execution, "s1")]
    assert engine.waiting() == {}
    assert "waiting" not in engine.load(execution.id).state


def test_a_pending_restart_starts_only_the_restarted_stage(engine: Engine) -> None:
    execution = engine.store(
        pipeline(
            stage("1", status=S.SUCCEEDED),
            stage("2", upstream=("1",)),
            status=S.NOT_STARTED,
            start_time=NOW - 50_000,
            state={"pendingRestart": {"stageId": "s2", "user": "bob"}},
        )
    )
    ctx = _start(engine)
    assert ctx.pushes == [push(m.StartStage, execution, "s2")]
    started = engine.load(execution.id)
    assert started.status == S.RUNNING
    assert started.start_time == NOW - 50_000  # a restart keeps the original start
    assert "pendingRestart" not in started.state
