"""Whole pipelines through the real processor on SQLite and PostgreSQL: DAG order, joins, skips,
failure options and the execution-status algebra (reference §2.5-2.6)."""

from __future__ import annotations

from gennaker.model.status import ExecutionStatus as S
from tests.engine.conftest import Harness


def scripted(ref: str, *requisites: str, **context: object) -> dict[str, object]:
    return {
        "refId": ref,
        "requisiteStageRefIds": list(requisites),
        "type": "scripted",
        "name": f"s{ref}",
        **context,
    }


def test_linear_pipeline_without_ref_ids_runs_in_order(harness: Harness) -> None:
    execution = harness.start(
        [{"type": "scripted", "name": "a"}, {"type": "noop", "name": "b"}, {"type": "wait", "waitTime": 3}]
    )
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.SUCCEEDED
    assert [s.ref_id for s in done.stages] == ["0", "1", "2"]
    assert [s.requisite_stage_ref_ids for s in done.stages] == [[], ["0"], ["1"]]
    starts = [s.start_time for s in done.stages]
    assert all(s.status == S.SUCCEEDED for s in done.stages)
    assert starts == sorted(starts)
    assert done.stages[2].end_time - done.stages[2].start_time == 3000


def test_parallel_branches_join_once_both_are_done(harness: Harness) -> None:
    execution = harness.start(
        [scripted("1"), scripted("2", "1", polls=3), scripted("3", "1", polls=1), scripted("4", "2", "3")]
    )
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.SUCCEEDED
    join = done.stage_by_ref_id("4")
    two, three = done.stage_by_ref_id("2"), done.stage_by_ref_id("3")
    assert join.start_time >= max(two.end_time, three.end_time)
    assert join.context["pollCount"] == 1  # ran exactly once


def test_terminal_stage_cancels_other_branches_and_fails_pipeline(harness: Harness) -> None:
    execution = harness.start([scripted("1", result="TERMINAL"), scripted("2", polls=50), scripted("3", "1")])
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.TERMINAL
    assert done.stage_by_ref_id("1").status == S.TERMINAL
    assert done.stage_by_ref_id("2").status == S.CANCELED
    assert done.stage_by_ref_id("3").status == S.NOT_STARTED


def test_halt_this_branch_lets_others_finish_and_pipeline_succeeds(harness: Harness) -> None:
    execution = harness.start(
        [scripted("1", result="TERMINAL", failPipeline=False), scripted("2", polls=5), scripted("3", "1")]
    )
    harness.run()
    done = harness.get(execution.id)
    assert done.stage_by_ref_id("1").status == S.STOPPED
    assert done.stage_by_ref_id("2").status == S.SUCCEEDED
    assert done.stage_by_ref_id("3").status == S.NOT_STARTED
    assert done.status == S.SUCCEEDED


def test_complete_other_branches_then_fail(harness: Harness) -> None:
    execution = harness.start(
        [
            scripted("1", result="TERMINAL", failPipeline=False, completeOtherBranchesThenFail=True),
            scripted("2", polls=5),
        ]
    )
    harness.run()
    done = harness.get(execution.id)
    assert done.stage_by_ref_id("1").status == S.STOPPED
    assert done.stage_by_ref_id("2").status == S.SUCCEEDED
    assert done.status == S.TERMINAL


def test_ignore_the_failure_continues_downstream(harness: Harness) -> None:
    execution = harness.start(
        [scripted("1", result="TERMINAL", failPipeline=False, continuePipeline=True), scripted("2", "1")]
    )
    harness.run()
    done = harness.get(execution.id)
    assert done.stage_by_ref_id("1").status == S.FAILED_CONTINUE
    assert done.stage_by_ref_id("2").status == S.SUCCEEDED
    assert done.status == S.SUCCEEDED


def test_stage_enabled_false_skips_and_downstream_runs(harness: Harness) -> None:
    execution = harness.start(
        [
            scripted("1", stageEnabled={"type": "expression", "expression": "false"}),
            scripted("2", "1"),
        ]
    )
    harness.run()
    done = harness.get(execution.id)
    assert done.stage_by_ref_id("1").status == S.SKIPPED
    assert done.stage_by_ref_id("1").tasks == []
    assert done.stage_by_ref_id("2").status == S.SUCCEEDED
    assert done.status == S.SUCCEEDED


def test_outputs_flow_to_downstream_context(harness: Harness) -> None:
    execution = harness.start(
        [
            scripted("1", outputs={"version": "1.2.3"}),
            scripted("2", "1", readKeys=["version"]),
        ]
    )
    harness.run()
    done = harness.get(execution.id)
    assert done.stage_by_ref_id("2").context["seen"] == {"version": "1.2.3"}


def test_synthetic_before_and_after_stages_run_around_the_tasks(harness: Harness) -> None:
    execution = harness.start(
        [
            {
                "refId": "1",
                "type": "parent",
                "before": [{"outputs": {"b": 1}}, {"chained": False}],
                "after": [{"readKeys": ["b"]}],
            }
        ]
    )
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.SUCCEEDED
    refs = [s.ref_id for s in done.stages]
    assert refs == ["1<1", "1<2", "1", "1>1"]
    parent = done.stage_by_ref_id("1")
    before = [s for s in done.stages if s.synthetic_stage_owner == "STAGE_BEFORE"]
    after = done.stage_by_ref_id("1>1")
    assert all(s.parent_stage_id == parent.id for s in before)
    assert parent.tasks[0].start_time >= max(s.end_time for s in before)
    assert after.start_time >= parent.tasks[0].end_time
    assert after.context["seen"] == {"b": 1}


def test_failed_before_stage_fails_parent_and_on_failure_stages_run(harness: Harness) -> None:
    execution = harness.start(
        [{"refId": "1", "type": "parent", "before": [{"result": "TERMINAL"}], "onFailure": [{}, {}]}]
    )
    harness.run()
    done = harness.get(execution.id)
    parent = done.stage_by_ref_id("1")
    assert parent.status == S.TERMINAL
    assert parent.tasks[0].status == S.NOT_STARTED
    on_failure = [s for s in done.stages if s.synthetic_stage_owner == "STAGE_AFTER"]
    assert [s.status for s in on_failure] == [S.SUCCEEDED, S.SUCCEEDED]
    assert on_failure[1].requisite_stage_ref_ids == [on_failure[0].ref_id]
    assert done.status == S.TERMINAL


def test_task_exception_ends_stage_terminal_with_details(harness: Harness) -> None:
    execution = harness.start([scripted("1", **{"raise": "boom"})])
    harness.run()
    stage = harness.stage(execution.id, "1")
    assert stage.status == S.TERMINAL
    assert stage.context["exception"]["details"]["errors"] == ["boom"]
    assert stage.context["exception"]["exceptionType"] == "RuntimeError"
    assert harness.get(execution.id).status == S.TERMINAL


def test_empty_pipeline_is_terminal(harness: Harness) -> None:
    execution = harness.start([])
    harness.run()
    assert harness.get(execution.id).status == S.TERMINAL


def test_alias_resolves_stage_type(harness: Harness) -> None:
    execution = harness.start([{"refId": "1", "type": "nothing"}])
    harness.run()
    assert harness.get(execution.id).status == S.SUCCEEDED
