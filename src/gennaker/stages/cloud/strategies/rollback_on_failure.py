"""What a failed deploy does with ``rollback: {onFailure, destroyLatest}`` (Orca's
CreateServerGroupStage.onFailureStages, reference §5.7), before the strategy's own on-failure
stages:

- nothing unless ``rollback.onFailure`` and the deploy created a server group;
- rolling red/black: always ``rollbackCluster`` "Rollback <cluster>" with enableAndDisableOnly
  (enable the source, then disable the new group);
- red/black: only when one of the deploy's own tasks failed (creating or waiting for the new
  group, not the cleanup afterwards), with disableOnly (the source still serves: take the new
  group out);
- other strategies: no rollbackCluster;
- in every case onlyEnabledServerGroups (a disabled group was likely disabled for being bad);
- ``rollback.destroyLatest``: also ``destroyServerGroup`` "Destroy <new>".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import SyntheticStageSpec
from gennaker.model.execution import Stage
from gennaker.model.status import ExecutionStatus
from gennaker.stages._common import as_bool
from gennaker.stages.cloud.strategies.base import account_of_stage, location_of, new_server_group
from gennaker.stages.cloud.support import cluster_of

ROLLBACK_TIMEOUT_MS = 30 * 60 * 1000
DESTROY_TIMEOUT_MS = 5 * 60 * 1000


def rollback_stages(stage: Stage, strategy_name: str) -> list[SyntheticStageSpec]:
    """The rollback part of a failed deploy's on-failure stages."""
    rollback = stage.context.get("rollback")
    if not isinstance(rollback, Mapping) or not as_bool(rollback.get("onFailure"), False):
        return []
    created = new_server_group(stage)
    if created is None:
        return []  # it failed before creating anything: nothing to roll back
    additional: dict[str, Any] = {}
    supported = False
    if strategy_name == "rollingredblack":
        supported = True
        additional["enableAndDisableOnly"] = True
    elif strategy_name == "redblack":
        supported = any(t.status == ExecutionStatus.TERMINAL for t in stage.tasks)
        additional["disableOnly"] = True
    additional["onlyEnabledServerGroups"] = True
    ctx = stage.context
    cloud = ctx.get("cloudProvider") or "aws"
    cluster = cluster_of(ctx)
    region = location_of(stage)
    specs = []
    if supported:
        specs.append(
            SyntheticStageSpec(
                "rollbackCluster",
                f"Rollback {cluster}",
                {
                    "credentials": account_of_stage(stage),
                    "cloudProvider": cloud,
                    "regions": [region],
                    "serverGroup": created,
                    "stageTimeoutMs": ROLLBACK_TIMEOUT_MS,
                    "additionalRollbackContext": additional,
                },
                chained=False,
            )
        )
    if as_bool(rollback.get("destroyLatest"), False):
        specs.append(
            SyntheticStageSpec(
                "destroyServerGroup",
                f"Destroy {created}",
                {
                    "cloudProvider": cloud,
                    "cloudProviderType": cloud,
                    "cluster": cluster,
                    "credentials": account_of_stage(stage),
                    "region": region,
                    "serverGroupName": created,
                    "stageTimeoutMs": DESTROY_TIMEOUT_MS,
                },
                chained=False,
            )
        )
    return specs
