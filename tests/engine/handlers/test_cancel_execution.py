"""CancelExecution (§2.8): a waiting execution ends CANCELED at once; a running one is marked and its
running tasks are woken so they notice; a paused one is resumed first."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import cancel_execution
from gennaker.engine.runtime import HandlerContext
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import CONFIG_ID, NOW, msg, pipeline, push, stage, task
from tests.engine.handlers.conftest import Engine


def _cancel(engine: Engine, user: str | None = "bob", reason: str | None = "wrong build") -> HandlerContext:
    message = msg(m.CancelExecution, engine.load("ex1"), user=user, reason=reason)
    return engine.handle(cancel_execution.handle, message)


def test_a_running_execution_is_marked_and_its_tasks_woken(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", status=S.RUNNING, tasks=[task("1", S.RUNNING)])))
    ctx = _cancel(engine)
    assert ctx.pushes == [push(m.RescheduleExecution, execution), push(m.CompleteExecution, execution)]
    assert [(e.type, e.body["user"], e.body["reason"]) for e in ctx.events] == [
        ("pipeline.canceling", "bob", "wrong build")
    ]
    stored = engine.load(execution.id)
    assert stored.status == S.RUNNING  # the stages decide when it is over
    assert (stored.canceled, stored.canceled_by, stored.cancellation_reason) == (True, "bob", "wrong build")


def test_a_waiting_execution_ends_canceled_and_leaves_the_line(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1"), status=S.NOT_STARTED, limit_concurrent=True))
    engine.park(execution, CONFIG_ID, NOW - 10)
    ctx = _cancel(engine)
    assert ctx.pushes == [push(m.StartWaitingExecutions, execution, key=CONFIG_ID, purge_queue=True)]
    assert [(e.type, e.body.get("canceled")) for e in ctx.events] == [("pipeline.failed", True)]
    stored = engine.load(execution.id)
    assert (stored.status, stored.end_time, stored.canceled) == (S.CANCELED, NOW, True)
    assert engine.waiting() == {}


def test_a_paused_execution_is_resumed_to_be_canceled(engine: Engine) -> None:
    execution = engine.store(
        pipeline(
            stage("1", status=S.PAUSED, tasks=[task("1", S.PAUSED), task("2")]),
            stage("2", status=S.SUCCEEDED),
            status=S.PAUSED,
            paused={"pausedBy": "ann", "pauseTime": NOW - 4_000},
        )
    )
    ctx = _cancel(engine)
    assert ctx.pushes == [push(m.RescheduleExecution, execution), push(m.CompleteExecution, execution)]
    stored = engine.load(execution.id)
    assert stored.status == S.RUNNING
    assert stored.paused == {
        "pausedBy": "ann",
        "pauseTime": NOW - 4_000,
        "intervals": [[NOW - 4_000, NOW]],
        "resumeTime": NOW,
    }
    assert stored.stages[0].status == S.RUNNING
    assert [t.status for t in stored.stages[0].tasks] == [S.RUNNING, S.NOT_STARTED]
    assert stored.stages[1].status == S.SUCCEEDED


def test_the_first_canceler_and_reason_are_kept(engine: Engine) -> None:
    engine.store(
        pipeline(stage("1", status=S.RUNNING), canceled=True, canceled_by="ann", cancellation_reason="first")
    )
    _cancel(engine, user="bob", reason="second")
    stored = engine.load("ex1")
    assert (stored.canceled_by, stored.cancellation_reason) == ("ann", "first")


def test_a_second_cancel_during_the_finally_block_stops_it_too(engine: Engine) -> None:
    engine.store(
        pipeline(
            stage("1", status=S.CANCELED),
            stage("f", status=S.RUNNING, is_finally=True),
            canceled=True,
            state={"outcome": "CANCELED"},
        )
    )
    _cancel(engine)
    assert engine.load("ex1").state["finallyCanceled"] is True


def test_a_first_cancel_during_the_finally_block_lets_it_finish(engine: Engine) -> None:
    engine.store(
        pipeline(
            stage("1", status=S.TERMINAL),
            stage("f", status=S.RUNNING, is_finally=True),
            state={"outcome": "TERMINAL"},
        )
    )
    _cancel(engine)
    stored = engine.load("ex1")
    assert stored.canceled is True
    assert "finallyCanceled" not in stored.state


def test_a_finished_execution_is_left_alone(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.SUCCEEDED), status=S.SUCCEEDED))
    ctx = _cancel(engine)
    assert ctx.pushes == [] and ctx.events == []
    assert engine.load("ex1").canceled is False


def test_an_execution_that_no_longer_exists_is_ignored(engine: Engine) -> None:
    ctx = engine.handle(cancel_execution.handle, msg(m.CancelExecution, pipeline(id="gone"), user="bob"))
    assert ctx.pushes == [] and ctx.events == []
