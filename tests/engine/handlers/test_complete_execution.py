"""CompleteExecution (CompleteExecutionHandler, §2.6 step 6): the outcome of the main graph, the
``finally`` block, releasing locks and concurrency slots."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import cancel_execution, complete_execution
from gennaker.engine.runtime import HandlerContext, Push
from gennaker.model.execution import ORCHESTRATION, Execution
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import CONFIG_ID, NOW, msg, pipeline, push, stage, task
from tests.engine.handlers.conftest import Engine


def _complete(engine: Engine) -> HandlerContext:
    return engine.handle(complete_execution.handle, msg(m.CompleteExecution, engine.load("ex1")))


def _release(execution: Execution, purge: bool = True) -> Push:
    return push(m.StartWaitingExecutions, execution, key=CONFIG_ID, purge_queue=purge)


def test_all_stages_succeeded(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", status=S.SUCCEEDED), stage("2", status=S.SUCCEEDED)))
    ctx = _complete(engine)
    assert ctx.pushes == [_release(execution)]
    assert [(e.type, e.body["status"]) for e in ctx.events] == [("pipeline.complete", "SUCCEEDED")]
    done = engine.load(execution.id)
    assert done.status == S.SUCCEEDED
    assert done.end_time == NOW


def test_skipped_and_failed_continue_count_as_success(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.SKIPPED), stage("2", status=S.FAILED_CONTINUE)))
    _complete(engine)
    assert engine.load("ex1").status == S.SUCCEEDED


def test_keep_waiting_pipelines_wakes_the_oldest_waiter(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", status=S.SUCCEEDED), keep_waiting_pipelines=True))
    assert _complete(engine).pushes == [_release(execution, purge=False)]


def test_an_orchestration_has_no_waiters_to_wake(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.SUCCEEDED), type=ORCHESTRATION, pipeline_config_id=None))
    ctx = _complete(engine)
    assert ctx.pushes == []
    assert engine.load("ex1").status == S.SUCCEEDED


def test_terminal_stage_fails_the_execution_and_cancels_running_branches(engine: Engine) -> None:
    execution = engine.store(
        pipeline(
            stage("1", status=S.TERMINAL),
            stage("2", status=S.RUNNING),
            stage("3", status=S.PAUSED),
            stage("4", upstream=("1",)),
        )
    )
    ctx = _complete(engine)
    assert ctx.pushes == [
        push(m.CancelStage, execution, "s2"),
        push(m.CancelStage, execution, "s3"),
        _release(execution),
    ]
    assert [(e.type, e.body["status"]) for e in ctx.events] == [("pipeline.failed", "TERMINAL")]
    done = engine.load(execution.id)
    assert done.status == S.TERMINAL
    assert [s.status for s in done.stages] == [S.TERMINAL, S.RUNNING, S.PAUSED, S.NOT_STARTED]


def test_canceled_stage_cancels_the_execution(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", status=S.CANCELED), stage("2", status=S.SUCCEEDED)))
    ctx = _complete(engine)
    assert ctx.pushes == [_release(execution)]
    assert engine.load(execution.id).status == S.CANCELED


def test_terminal_wins_over_canceled(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.CANCELED), stage("2", status=S.TERMINAL)))
    _complete(engine)
    assert engine.load("ex1").status == S.TERMINAL


def test_stopped_branch_waits_for_the_other_branches(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.STOPPED), stage("2", status=S.RUNNING)))
    ctx = _complete(engine)
    assert ctx.pushes == [] and ctx.events == []
    assert engine.load("ex1").status == S.RUNNING


def test_stopped_branch_waits_for_a_stage_about_to_start(engine: Engine) -> None:
    engine.store(
        pipeline(stage("1", status=S.STOPPED), stage("2", status=S.SUCCEEDED), stage("3", upstream=("2",)))
    )
    assert _complete(engine).pushes == []
    assert engine.load("ex1").status == S.RUNNING


def test_stopped_branch_with_everything_else_done_succeeds(engine: Engine) -> None:
    execution = engine.store(
        pipeline(stage("1", status=S.STOPPED), stage("2", upstream=("1",)), stage("3", status=S.SUCCEEDED))
    )
    ctx = _complete(engine)
    assert ctx.pushes == [_release(execution)]
    assert engine.load(execution.id).status == S.SUCCEEDED


def test_complete_other_branches_then_fail(engine: Engine) -> None:
    engine.store(
        pipeline(
            stage("1", status=S.STOPPED, completeOtherBranchesThenFail=True),
            stage("2", status=S.SUCCEEDED),
        )
    )
    _complete(engine)
    assert engine.load("ex1").status == S.TERMINAL


def test_still_running_does_nothing(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.SUCCEEDED), stage("2", status=S.RUNNING)))
    ctx = _complete(engine)
    assert ctx.pushes == [] and ctx.events == []
    assert engine.load("ex1").status == S.RUNNING


def test_canceled_with_nothing_running_ends_canceled(engine: Engine) -> None:
    execution = engine.store(
        pipeline(stage("1", status=S.SUCCEEDED), stage("2", upstream=("1",)), canceled=True)
    )
    ctx = _complete(engine)
    assert ctx.pushes == [_release(execution)]
    assert engine.load(execution.id).status == S.CANCELED


def test_canceled_with_a_stage_still_running_waits(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.RUNNING), canceled=True))
    assert _complete(engine).pushes == []
    assert engine.load("ex1").status == S.RUNNING


def test_ignored_when_not_running(engine: Engine) -> None:
    for status in (S.NOT_STARTED, S.SUCCEEDED, S.TERMINAL, S.CANCELED):
        engine.store(pipeline(stage("1", status=S.SUCCEEDED), id=f"ex-{status}", status=status))
        ctx = engine.handle(complete_execution.handle, msg(m.CompleteExecution, engine.load(f"ex-{status}")))
        assert ctx.pushes == [] and ctx.events == [], status
        assert engine.load(f"ex-{status}").status == status


def test_releases_its_locks_and_wakes_their_waiters(engine: Engine) -> None:
    execution = engine.store(
        pipeline(
            stage("1", status=S.SUCCEEDED), locks=[{"name": "b"}, {"name": "a"}], pipeline_config_id=None
        )
    )
    engine.hold_lock("a", execution.id)
    engine.hold_lock("b", execution.id)
    engine.hold_lock("other", "someone-else")
    ctx = _complete(engine)
    assert ctx.pushes == [
        push(m.StartWaitingExecutions, execution, key="lock:a"),
        push(m.StartWaitingExecutions, execution, key="lock:b"),
    ]
    assert engine.locks() == {"other": "someone-else"}


# -- finally ---------------------------------------------------------------------------------------


def test_main_graph_done_records_the_outcome_and_starts_the_finally_block(engine: Engine) -> None:
    execution = engine.store(
        pipeline(
            stage("1", status=S.TERMINAL),
            stage("f1", is_finally=True),
            stage("f2", is_finally=True),
            stage("f3", upstream=("f1",), is_finally=True),
        )
    )
    ctx = _complete(engine)
    assert ctx.pushes == [push(m.StartStage, execution, "sf1"), push(m.StartStage, execution, "sf2")]
    assert [(e.type, e.body["outcome"]) for e in ctx.events] == [("pipeline.finally", "TERMINAL")]
    running = engine.load(execution.id)
    assert running.status == S.RUNNING
    assert running.state["outcome"] == "TERMINAL"


def test_finally_waits_for_the_main_graph_to_wind_down(engine: Engine) -> None:
    execution = engine.store(
        pipeline(stage("1", status=S.TERMINAL), stage("2", status=S.RUNNING), stage("f", is_finally=True))
    )
    ctx = _complete(engine)
    assert ctx.pushes == [push(m.CancelStage, execution, "s2")]
    assert engine.load(execution.id).state["outcome"] == "TERMINAL"
    engine.change(execution.id, lambda e: setattr(e.stages[1], "status", S.CANCELED))
    ctx = _complete(engine)
    assert ctx.pushes == [push(m.StartStage, execution, "sf")]
    assert ctx.events == []  # the outcome was announced the first time


def test_finally_block_running_does_nothing(engine: Engine) -> None:
    engine.store(
        pipeline(
            stage("1", status=S.SUCCEEDED),
            stage("f1", status=S.SUCCEEDED, is_finally=True),
            stage("f2", status=S.RUNNING, is_finally=True),
            state={"outcome": "SUCCEEDED"},
        )
    )
    ctx = _complete(engine)
    assert ctx.pushes == [] and ctx.events == []


def test_finally_block_done_ends_with_the_main_outcome(engine: Engine) -> None:
    for main, final, expected in (
        (S.SUCCEEDED, S.SUCCEEDED, S.SUCCEEDED),
        (S.SUCCEEDED, S.TERMINAL, S.TERMINAL),
        (S.SUCCEEDED, S.CANCELED, S.CANCELED),
        (S.TERMINAL, S.SUCCEEDED, S.TERMINAL),
        (S.CANCELED, S.TERMINAL, S.CANCELED),
    ):
        name = f"ex-{main}-{final}"
        execution = engine.store(
            pipeline(
                stage("1", status=main),
                stage("f", status=final, is_finally=True),
                id=name,
                state={"outcome": main.value},
            )
        )
        ctx = engine.handle(complete_execution.handle, msg(m.CompleteExecution, execution))
        assert ctx.pushes == [_release(execution)], name
        assert engine.load(name).status == expected, name


def test_canceled_execution_runs_finally_with_outcome_canceled(engine: Engine) -> None:
    execution = engine.store(
        pipeline(
            stage("1", status=S.SUCCEEDED),
            stage("2", upstream=("1",)),
            stage("f", is_finally=True),
            canceled=True,
        )
    )
    ctx = _complete(engine)
    assert ctx.pushes == [push(m.StartStage, execution, "sf")]
    assert engine.load(execution.id).state["outcome"] == "CANCELED"


def test_a_second_cancel_before_the_finally_block_started_ends_the_execution(engine: Engine) -> None:
    """CancelExecution marks finallyCanceled when the finally block is pending; StartStage then
    refuses the finally stages, so CompleteExecution must not start them (nor wait for them)."""
    execution = engine.store(
        pipeline(
            stage("1", status=S.CANCELED),
            stage("f", is_finally=True),
            canceled=True,
            state={"outcome": "CANCELED", "finallyCanceled": True},
        )
    )
    ctx = _complete(engine)
    assert ctx.pushes == [_release(execution)]
    done = engine.load(execution.id)
    assert done.status == S.CANCELED
    assert done.stages[1].status == S.NOT_STARTED


def test_a_second_cancel_during_the_finally_block_ends_it_once_nothing_runs(engine: Engine) -> None:
    execution = engine.store(
        pipeline(
            stage("1", status=S.TERMINAL),
            stage("f1", status=S.SUCCEEDED, is_finally=True),
            stage("f2", upstream=("f1",), is_finally=True),
            canceled=True,
            state={"outcome": "TERMINAL", "finallyCanceled": True},
        )
    )
    ctx = _complete(engine)
    assert ctx.pushes == [_release(execution)]
    assert engine.load(execution.id).status == S.TERMINAL


def test_scenario_canceled_twice_while_the_main_graph_winds_down(engine: Engine) -> None:
    """Stage 1 failed and the outcome is known, stage 2 is still being stopped, and the user cancels
    twice ("it did not seem to work"): the finally block is skipped and the execution ends."""
    execution = engine.store(
        pipeline(
            stage("1", status=S.TERMINAL),
            stage(
                "2",
                status=S.RUNNING,
                tasks=[task(status=S.RUNNING, implementing_class="scriptedTask")],
                polls=1000,
            ),
            stage("f", is_finally=True),
            state={"outcome": "TERMINAL"},
        )
    )
    cancel = msg(m.CancelExecution, execution, user="bob")
    engine.handle(cancel_execution.handle, cancel)
    second = engine.handle(cancel_execution.handle, cancel)
    assert engine.load(execution.id).state["finallyCanceled"] is True
    done = engine.settle(second.pushes)
    assert done.status == S.TERMINAL
    assert [s.status for s in done.stages] == [S.TERMINAL, S.CANCELED, S.NOT_STARTED]
