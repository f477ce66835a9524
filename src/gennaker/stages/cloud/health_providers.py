"""``determineHealthProviders`` (Orca's DetermineHealthProvidersTask): which health sources the
waits consider. An explicit ``interestingHealthProviderNames`` is kept (``[]`` means "do not wait
on health at all", absent means "every source"); otherwise an application saved with
``platformHealthOnly: true`` (and not ``platformHealthOnlyShowOverride``) gets
``[<the provider's platform health type>]`` (``Local`` for the local provider)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import BaseTask, TaskResult, TaskRun
from gennaker.model.moniker import parse_name
from gennaker.stages._common import as_bool
from gennaker.stages.cloud.support import BadStage, provider_of


def _application_name(ctx: Mapping[str, Any], fallback: str) -> str:
    if ctx.get("application"):
        return str(ctx["application"])
    moniker = ctx.get("moniker")
    if isinstance(moniker, Mapping) and moniker.get("app"):
        return str(moniker["app"])
    for key in ("serverGroupName", "asgName", "cluster"):
        if isinstance(ctx.get(key), str) and ctx[key]:
            return str(parse_name(str(ctx[key])).app or fallback)
    return fallback


def _application(run: TaskRun, name: str) -> Mapping[str, Any] | None:
    repository = getattr(run.services, "applications", None)
    if repository is None:
        return None
    with run.services.db.read() as conn:
        found = repository.find(conn, name)
    return found if isinstance(found, Mapping) else None


class DetermineHealthProvidersTask(BaseTask):
    """Sets ``interestingHealthProviderNames`` for platform-health-only applications."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Keep an explicit list; else read the application's platformHealthOnly."""
        if "interestingHealthProviderNames" in run.stage.context:
            return TaskResult.succeeded()
        try:
            provider, _ = provider_of(run)
        except BadStage:
            return TaskResult.succeeded()  # the next task names the problem
        name = _application_name(run.context, run.execution.application)
        application = await asyncio.to_thread(_application, run, name)
        if application is None:
            return TaskResult.succeeded()
        if as_bool(application.get("platformHealthOnly"), False) and not as_bool(
            application.get("platformHealthOnlyShowOverride"), False
        ):
            return TaskResult.succeeded({"interestingHealthProviderNames": [provider.health_provider_name]})
        return TaskResult.succeeded()
