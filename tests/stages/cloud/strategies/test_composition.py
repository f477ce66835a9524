"""What each strategy plans, from a createServerGroup stage as it stands after its tasks: Orca's
stage names, order and contexts, including the edge cases (no source, string booleans, 100
appended, bad fields), and the rollback a failed deploy plans. The examples' pipelines use valid
strategy fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gennaker.model.execution import Stage, Task
from gennaker.model.status import ExecutionStatus
from gennaker.stages.cloud.strategies import problem_of, strategy_for
from gennaker.stages.cloud.strategies.rollback_on_failure import rollback_stages
from gennaker.stages.cloud.strategies.rolling_red_black import target_percentages

EXAMPLES = Path(__file__).resolve().parents[4] / "examples" / "hello"
SOURCE = {
    "serverGroupName": "shop-web-v000",
    "asgName": "shop-web-v000",
    "region": "local",
    "account": "local",
}


def _deployed(strategy: str, source: dict[str, Any] | None = None, **ctx: Any) -> Stage:
    context = {
        "cloudProvider": "local",
        "credentials": "local",
        "region": "local",
        "application": "shop",
        "stack": "web",
        "strategy": strategy,
        "capacity": {"min": 2, "max": 2, "desired": 2},
        "source": SOURCE if source is None else source,
        "deploy.server.groups": {"local": ["shop-web-v001"]},
        **ctx,
    }
    return Stage(id="s1", ref_id="2<1", type="createServerGroup", name="Deploy in local", context=context)


def _plan(stage: Stage) -> list[tuple[str, str]]:
    strategy = strategy_for(stage.context["strategy"])
    assert strategy is not None
    return [(s.type, s.name) for s in strategy.after_stages(stage)]


def test_red_black_with_every_option() -> None:
    stage = _deployed(
        "RedBlack",
        maxRemainingAsgs="2",
        delayBeforeDisableSec=5,
        scaleDown="true",
        delayBeforeScaleDownSec=7,
        allowScaleDownActive="false",
    )
    strategy = strategy_for("RedBlack")
    assert strategy is not None
    specs = strategy.after_stages(stage)
    assert [(s.type, s.name) for s in specs] == [
        ("shrinkCluster", "shrinkCluster"),
        ("wait", "Wait Before Disable"),
        ("disableCluster", "disableCluster"),
        ("wait", "Wait Before Scale Down"),
        ("scaleDownCluster", "scaleDown"),
    ]
    assert specs[0].context["shrinkToSize"] == 2 and specs[0].context["allowDeleteActive"] is False
    assert specs[1].context == {"waitTime": 5} and specs[3].context == {"waitTime": 7}
    assert specs[2].context["remainingEnabledServerGroups"] == 1
    assert specs[4].context["allowScaleDownActive"] is False
    assert specs[2].context["cluster"] == "shop-web" and specs[2].context["region"] == "local"


def test_red_black_without_a_source_plans_nothing() -> None:
    assert _plan(_deployed("redblack", source={})) == []
    assert _plan(_deployed("redblack", maxRemainingAsgs=0)) == [("disableCluster", "disableCluster")]


def test_rolling_red_black_without_a_source_grows_to_the_saved_capacity() -> None:
    stage = _deployed("rollingredblack", source={}, targetPercentages=[50])
    strategy = strategy_for("rollingredblack")
    assert strategy is not None
    strategy.before_stages(stage)
    assert stage.context["capacity"] == {"min": 0, "max": 0, "desired": 0}
    assert stage.context["savedCapacity"] == {"min": 2, "max": 2, "desired": 2}
    specs = strategy.after_stages(stage)
    assert [(s.type, s.name) for s in specs] == [
        ("determineTargetServerGroup", "Determine Deployed Server Group"),
        ("resizeServerGroup", "Grow to 50% of Desired Size"),
        ("resizeServerGroup", "Grow to 100% of Desired Size"),
    ]
    assert specs[1].context["action"] == "scale_exact" and specs[1].context["capacity"] == {
        "min": 2,
        "max": 2,
        "desired": 2,
    }
    assert "interestingHealthProviderNames" not in specs[1].context


def test_rolling_red_black_with_scale_down_and_its_failure_unpin() -> None:
    stage = _deployed(
        "rollingredblack", targetPercentages=[100], scaleDown=True, interestingHealthProviderNames=[]
    )
    assert _plan(stage) == [
        ("determineTargetServerGroup", "Determine Deployed Server Group"),
        ("pinServerGroup", "Pin shop-web-v000"),
        ("resizeServerGroup", "Grow to 100% of Desired Size"),
        ("disableServerGroup", "Disable 100% of Traffic on shop-web-v000"),
        ("scaleDownCluster", "scaleDown"),
    ]
    strategy = strategy_for("rollingredblack")
    assert strategy is not None
    unpin = strategy.on_failure_stages(stage)
    assert [(s.type, s.name) for s in unpin] == [("pinServerGroup", "Unpin shop-web-v000")]
    assert (
        unpin[0].context["unpinMinimumCapacity"] is True and unpin[0].context["stageTimeoutMs"] == 1_200_000
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, [50, 100]), ([25, 50], [25, 50, 100]), (["10", 100], [10, 100]), ([100], [100])],
)
def test_target_percentages(value: Any, expected: list[int]) -> None:
    assert target_percentages(value) == expected


def test_bad_strategy_fields_are_named() -> None:
    assert "targetPercentages[0]" in str(problem_of(_deployed("rollingredblack", targetPercentages=[0])))
    assert "pipelineBeforeCleanup" in str(problem_of(_deployed("rollingredblack", pipelineBeforeCleanup="x")))
    assert "strategyApplication and strategyPipeline" in str(problem_of(_deployed("custom")))
    assert "not available" in str(problem_of(_deployed("monitored")))
    assert problem_of(_deployed("no-such-strategy")) is None  # unknown means none, as in Orca
    assert strategy_for("no-such-strategy") is strategy_for("")


def test_rollback_on_failure_per_strategy() -> None:
    rolling = _deployed("rollingredblack", rollback={"onFailure": "true", "destroyLatest": True})
    specs = rollback_stages(rolling, "rollingredblack")
    assert [(s.type, s.name) for s in specs] == [
        ("rollbackCluster", "Rollback shop-web"),
        ("destroyServerGroup", "Destroy shop-web-v001"),
    ]
    assert specs[0].context["additionalRollbackContext"] == {
        "enableAndDisableOnly": True,
        "onlyEnabledServerGroups": True,
    }
    assert specs[0].context["serverGroup"] == "shop-web-v001" and specs[0].context["regions"] == ["local"]
    red_black = _deployed("redblack", rollback={"onFailure": True})
    assert rollback_stages(red_black, "redblack") == []  # its own tasks succeeded: a cleanup failed
    red_black.tasks = [
        Task(id="1", name="waitForUpInstances", implementing_class="w", status=ExecutionStatus.TERMINAL)
    ]
    assert rollback_stages(red_black, "redblack")[0].context["additionalRollbackContext"] == {
        "disableOnly": True,
        "onlyEnabledServerGroups": True,
    }
    assert rollback_stages(_deployed("highlander", rollback={"onFailure": True}), "highlander") == []
    nothing_created = _deployed("redblack", rollback={"onFailure": True}, **{"deploy.server.groups": {}})
    assert rollback_stages(nothing_created, "redblack") == []


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("pipeline*.json")), ids=lambda p: p.name)
def test_example_pipelines_use_valid_strategy_fields(path: Path) -> None:
    config = json.loads(path.read_text())
    for stage in config["stages"]:
        for cluster in stage.get("clusters") or []:
            probe = Stage(
                id="x", ref_id="x", type="createServerGroup", name="Deploy in local", context=dict(cluster)
            )
            assert problem_of(probe) is None, (path.name, problem_of(probe))
