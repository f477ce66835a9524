"""StartWaitingExecutions: a concurrency slot or a lock was freed; start who waits for it (oldest
first), or with purge (keepWaitingPipelines false) the newest, canceling the others."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import start_waiting_executions
from gennaker.engine.runtime import HandlerContext
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import CONFIG_ID, NOW, msg, pipeline, push, stage
from tests.engine.handlers.conftest import Engine


def _wake(engine: Engine, key: str = CONFIG_ID, purge: bool = False) -> HandlerContext:
    freed = engine.load("ex0")
    message = msg(m.StartWaitingExecutions, freed, key=key, purge_queue=purge)
    return engine.handle(start_waiting_executions.handle, message)


def _line(engine: Engine, key: str = CONFIG_ID, count: int = 3) -> list[str]:
    engine.store(pipeline(stage("1", status=S.SUCCEEDED), id="ex0", status=S.SUCCEEDED))
    ids = []
    for i in range(count):
        execution = engine.store(pipeline(stage("1"), id=f"w{i}", status=S.NOT_STARTED))
        # queued in the order w1, w0, w2: the line is by time of arrival, not by id
        engine.park(execution, key, NOW - 1_000 + [2, 1, 3][i])
        ids.append(execution.id)
    return ids


def test_nobody_waiting_does_nothing(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.SUCCEEDED), id="ex0", status=S.SUCCEEDED))
    ctx = _wake(engine)
    assert ctx.pushes == [] and ctx.events == []


def test_starts_the_oldest_waiter(engine: Engine) -> None:
    _line(engine)
    ctx = _wake(engine)
    assert ctx.pushes == [push(m.StartExecution, engine.load("w1"))]
    assert engine.waiting() == {"w0": CONFIG_ID, "w1": CONFIG_ID, "w2": CONFIG_ID}  # StartExecution unparks


def test_purge_starts_the_newest_and_cancels_the_others(engine: Engine) -> None:
    _line(engine)
    ctx = _wake(engine, purge=True)
    reason = "Superseded by newer execution w2 (keepWaitingPipelines is false)"
    assert ctx.pushes == [
        push(m.CancelExecution, engine.load("w1"), user="gennaker", reason=reason),
        push(m.CancelExecution, engine.load("w0"), user="gennaker", reason=reason),
        push(m.StartExecution, engine.load("w2")),
    ]


def test_waiters_for_a_lock(engine: Engine) -> None:
    _line(engine, key="lock:env")
    assert _wake(engine, key="lock:env").pushes == [push(m.StartExecution, engine.load("w1"))]
    assert _wake(engine, key="lock:other").pushes == []
    assert _wake(engine, key=CONFIG_ID).pushes == []
