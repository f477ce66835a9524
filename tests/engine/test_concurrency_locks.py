"""limitConcurrent / maxConcurrentExecutions / keepWaitingPipelines, and Gennaker's cross-pipeline
locks, finally stages and stage retries."""

from __future__ import annotations

from gennaker.model.status import ExecutionStatus as S
from tests.engine.conftest import Harness
from tests.engine.test_graph_semantics import scripted


def _statuses(harness: Harness, ids: list[str]) -> list[S]:
    return [harness.get(i).status for i in ids]


def _start_many(harness: Harness, count: int, stages: list[dict[str, object]], **config: object) -> list[str]:
    """Start ``count`` executions a millisecond apart, each handled before the next arrives (so
    which one runs first is defined even with several workers)."""
    ids = []
    for _ in range(count):
        ids.append(harness.start(stages, **config).id)
        harness.run(advance_clock=False)
        harness.clock.advance(ms=1)
    return ids


def test_limit_concurrent_newest_waiting_runs_others_superseded(harness: Harness) -> None:
    stages = [scripted("1", polls=3)]
    ids = _start_many(harness, 4, stages, limitConcurrent=True, keepWaitingPipelines=False)
    harness.run(advance_clock=False)
    assert _statuses(harness, ids) == [S.RUNNING, S.NOT_STARTED, S.NOT_STARTED, S.NOT_STARTED]
    waiting = harness.get(ids[1]).state["waiting"]
    assert waiting["heldBy"] == ids[0] and "limitConcurrent" in waiting["reason"]
    harness.run()
    assert _statuses(harness, ids) == [S.SUCCEEDED, S.CANCELED, S.CANCELED, S.SUCCEEDED]
    assert "Superseded" in (harness.get(ids[1]).cancellation_reason or "")


def test_keep_waiting_pipelines_runs_all_in_order(harness: Harness) -> None:
    stages = [scripted("1", polls=2)]
    ids = _start_many(harness, 3, stages, limitConcurrent=True, keepWaitingPipelines=True)
    harness.run()
    done = [harness.get(i) for i in ids]
    assert [e.status for e in done] == [S.SUCCEEDED] * 3
    assert done[0].end_time <= done[1].start_time and done[1].end_time <= done[2].start_time


def test_max_concurrent_executions(harness: Harness) -> None:
    stages = [scripted("1", polls=2)]
    ids = _start_many(harness, 3, stages, maxConcurrentExecutions=2, keepWaitingPipelines=True)
    harness.run(advance_clock=False)
    assert _statuses(harness, ids) == [S.RUNNING, S.RUNNING, S.NOT_STARTED]
    harness.run()
    assert _statuses(harness, ids) == [S.SUCCEEDED] * 3


def test_cancel_waiting_execution(harness: Harness) -> None:
    first = harness.start([scripted("1", polls=5)], limitConcurrent=True, keepWaitingPipelines=True)
    harness.run(advance_clock=False)
    second = harness.start([scripted("1")], limitConcurrent=True, keepWaitingPipelines=True)
    harness.run(advance_clock=False)
    assert harness.get(second.id).status == S.NOT_STARTED
    harness.services.operations.cancel(second.id, user="eve")
    harness.run()
    assert harness.get(first.id).status == S.SUCCEEDED
    assert harness.get(second.id).status == S.CANCELED


def test_lock_blocks_other_pipeline_until_released(harness: Harness) -> None:
    deploy = harness.start([scripted("1", polls=3)], id="deploy", name="deploy", locks=[{"name": "env-prod"}])
    harness.run(advance_clock=False)
    cleanup = harness.start([scripted("1")], id="cleanup", name="cleanup", locks=[{"name": "env-prod"}])
    harness.run(advance_clock=False)
    waiting = harness.get(cleanup.id)
    assert waiting.status == S.NOT_STARTED
    assert waiting.state["waiting"]["reason"] == f"waiting for lock env-prod held by {deploy.id}"
    harness.run()
    first, second = harness.get(deploy.id), harness.get(cleanup.id)
    assert first.status == second.status == S.SUCCEEDED
    assert second.start_time >= first.end_time


def test_locks_are_all_or_nothing(harness: Harness) -> None:
    a = harness.start([scripted("1", polls=3)], id="a", locks=[{"name": "x"}])
    b = harness.start([scripted("1", polls=3)], id="b", locks=[{"name": "y"}])
    harness.run(advance_clock=False)
    both = harness.start([scripted("1")], id="c", locks=[{"name": "x"}, {"name": "y"}])
    harness.run(advance_clock=False)
    assert _statuses(harness, [a.id, b.id, both.id]) == [S.RUNNING, S.RUNNING, S.NOT_STARTED]
    harness.run()
    assert _statuses(harness, [a.id, b.id, both.id]) == [S.SUCCEEDED] * 3


def test_lock_newest_first_supersedes_older_waiters(harness: Harness) -> None:
    lock = [{"name": "env", "mode": "newest_first"}]
    holder = harness.start([scripted("1", polls=3)], id="h", locks=lock)
    harness.run(advance_clock=False)
    older = harness.start([scripted("1")], id="w1", locks=lock)
    harness.run(advance_clock=False)
    newer = harness.start([scripted("1")], id="w2", locks=lock)
    harness.run()
    assert _statuses(harness, [holder.id, older.id, newer.id]) == [S.SUCCEEDED, S.CANCELED, S.SUCCEEDED]


def test_lock_names_may_use_expressions_from_parameters(harness: Harness) -> None:
    lock = [{"name": "env-${parameters.env}"}]
    params = [{"name": "env", "default": "prod"}]
    first = harness.start([scripted("1", polls=2)], id="p", locks=lock, parameterConfig=params)
    other = harness.start(
        [scripted("1")], id="q", locks=lock, parameterConfig=params, trigger={"parameters": {"env": "dev"}}
    )
    harness.run(advance_clock=False)
    assert harness.get(first.id).locks == [{"name": "env-prod", "mode": "oldest_first"}]
    assert harness.get(other.id).status == S.SUCCEEDED  # env-dev is a different lock


def test_finally_runs_after_success_and_sees_outcome(harness: Harness) -> None:
    execution = harness.start([scripted("1")], **{"finally": [{"refId": "f1", "type": "scripted"}]})
    harness.run()
    done = harness.get(execution.id)
    cleanup = done.stage_by_ref_id("f1")
    assert done.status == S.SUCCEEDED
    assert cleanup.status == S.SUCCEEDED
    assert cleanup.context["sawOutcome"] == "SUCCEEDED"
    assert cleanup.start_time >= done.stage_by_ref_id("1").end_time


def test_finally_runs_after_failure_and_pipeline_stays_failed(harness: Harness) -> None:
    execution = harness.start(
        [scripted("1", result="TERMINAL"), scripted("2", polls=5)],
        **{
            "finally": [
                {"refId": "f1", "type": "scripted"},
                {"refId": "f2", "requisiteStageRefIds": ["f1"], "type": "noop"},
            ]
        },
    )
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.TERMINAL
    assert done.stage_by_ref_id("2").status == S.CANCELED
    f1 = done.stage_by_ref_id("f1")
    assert f1.status == S.SUCCEEDED and f1.context["sawOutcome"] == "TERMINAL"
    assert f1.start_time >= done.stage_by_ref_id("2").end_time  # after the main graph wound down
    assert done.stage_by_ref_id("f2").status == S.SUCCEEDED


def test_finally_runs_after_cancel(harness: Harness) -> None:
    execution = harness.start(
        [scripted("1", polls=1000)], **{"finally": [{"refId": "f", "type": "scripted"}]}
    )
    harness.run(advance_clock=False)
    harness.services.operations.cancel(execution.id, user="ops")
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.CANCELED
    assert done.stage_by_ref_id("f").status == S.SUCCEEDED
    assert done.stage_by_ref_id("f").context["sawOutcome"] == "CANCELED"


def test_failing_finally_fails_a_successful_pipeline(harness: Harness) -> None:
    execution = harness.start(
        [scripted("1")], **{"finally": [{"refId": "f", "type": "scripted", "result": "TERMINAL"}]}
    )
    harness.run()
    assert harness.get(execution.id).status == S.TERMINAL


def test_locks_held_through_finally_and_released_after(harness: Harness) -> None:
    first = harness.start(
        [scripted("1", result="TERMINAL")],
        id="a",
        locks=[{"name": "db"}],
        **{"finally": [{"refId": "f", "type": "scripted", "polls": 3}]},
    )
    harness.run(advance_clock=False)
    second = harness.start([scripted("1")], id="b", locks=[{"name": "db"}])
    harness.run()
    a, b = harness.get(first.id), harness.get(second.id)
    assert a.status == S.TERMINAL and b.status == S.SUCCEEDED
    assert b.start_time >= a.stage_by_ref_id("f").end_time


def test_retry_restarts_failed_stage_until_it_succeeds(harness: Harness) -> None:
    execution = harness.start(
        [
            scripted(
                "1", result="TERMINAL", failFirstAttempts=2, retry={"maxAttempts": 3, "backoffSeconds": 10}
            ),
            scripted("2", "1"),
        ]
    )
    harness.run()
    done = harness.get(execution.id)
    stage = done.stage_by_ref_id("1")
    assert done.status == S.SUCCEEDED
    assert stage.status == S.SUCCEEDED
    attempts = stage.context["retryAttempts"]
    assert [a["attempt"] for a in attempts] == [1, 2]
    assert stage.start_time - attempts[-1]["endTime"] == 10_000


def test_retry_gives_up_after_max_attempts(harness: Harness) -> None:
    execution = harness.start([scripted("1", result="TERMINAL", retry={"maxAttempts": 2})])
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.TERMINAL
    assert len(done.stage_by_ref_id("1").context["retryAttempts"]) == 1
