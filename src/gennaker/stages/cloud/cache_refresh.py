"""Orca's ServerGroupCacheForceRefreshTask: after an operation, refresh the cache of the server
groups it acted on (``deploy.server.groups`` of ``deploy.account.name``) through Clouddriver's
on-demand refresh, so the waits that follow read the new state instead of the last agent round's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import BaseTask, TaskResult, TaskRun
from gennaker.engine.registry import Registry
from gennaker.errors import GennakerError
from gennaker.providers.on_demand import force_refresh
from gennaker.stages._common import failed
from gennaker.stages.cloud.support import BadStage, clouddriver, provider_of


class ServerGroupCacheForceRefreshTask(BaseTask):
    """``POST /cache/{cloudProvider}/serverGroup`` for every server group the stage deployed."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Refresh each one; the refreshed identifiers go to ``refreshed.server.groups``."""
        groups = run.stage.context.get("deploy.server.groups")
        if not isinstance(groups, Mapping) or not groups:
            return TaskResult.succeeded()
        try:
            provider, account = provider_of(run)
        except BadStage as exc:
            return failed(str(exc))
        account = str(run.stage.context.get("deploy.account.name") or account)
        refreshed: list[str] = []
        for region, names in groups.items():
            for name in names or []:
                data = {"asgName": name, "serverGroupName": name, "region": region, "account": account}
                try:
                    answer = await force_refresh(clouddriver(run), provider.id, "serverGroup", data)
                except GennakerError as exc:
                    return failed(exc.message)
                refreshed.extend(answer["cachedIdentifiersByType"].get("serverGroups") or [])
        return TaskResult.succeeded({"refreshed.server.groups": refreshed})


def register(registry: Registry, settings: Any) -> None:
    """Add the task (createServerGroup and cloneServerGroup run it as ``forceCacheRefresh``)."""
    registry.add_task("serverGroupCacheForceRefresh", ServerGroupCacheForceRefreshTask())
