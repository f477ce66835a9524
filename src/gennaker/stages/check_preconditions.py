"""``checkPreconditions``: one parallel synthetic child per entry of ``preconditions``, named
"Check precondition (<type>)". As Orca's ``CheckPreconditionsStage.parallelContexts`` builds it,
each child starts from a copy of its parent's context (minus ``preconditions`` and the engine's
own control keys) with the precondition's keys on top, so an expression can read the parent
stage's fields. A child fails by its ``failPipeline`` (the precondition's, else the parent's,
default true: TERMINAL, which fails the parent; false: STOPPED, which halts the branch).

Types:
  ``expression``  ``context.expression`` (default "false"), written without ``${}``; passes iff it
                  evaluates to true or "true". The result is stored as ``context.expressionResult``
                  (an expression that fails to evaluate: its text, without ``${ }``, as Orca's
                  ExpressionPreconditionTask stores it).
  ``stageStatus`` ``context.stageName`` and ``context.stageStatus``: passes iff the stage of that
                  name has that status (any case); a missing stage is an error.
  ``clusterSize`` ``context.{cluster, credentials, regions, comparison (<, <=, ==, >=, >; default
                  ==), expected (default 1), onlyEnabledServerGroups (default false)}``: passes iff
                  the cluster has ``comparison expected`` server groups in every region (Orca's
                  ClusterSizePreconditionTask). Missing cluster/regions/credentials/cloudProvider
                  are taken from the parent stage.
"""

from __future__ import annotations

import copy
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, SyntheticStageSpec, TaskResult, TaskRun, TaskSpec
from gennaker.engine.registry import Registry
from gennaker.model.execution import Stage
from gennaker.stages._common import as_bool, as_int, failed
from gennaker.stages.cloud.support import BadStage, fresh_server_groups, provider_of

STAGE_TYPE = "checkPreconditions"
_TYPE_KEY = "preconditionType"
SUPPORTED = ("expression", "stageStatus", "clusterSize")
_COMPARISONS = {"<": int.__lt__, "<=": int.__le__, "==": int.__eq__, ">=": int.__ge__, ">": int.__gt__}
#: Parent keys a check does not inherit: what it checks, and what the engine acts on for the
#: parent itself (its retries, window, enablement, notifications and bookkeeping).
_NOT_INHERITED = frozenset(
    {
        "preconditions",
        "expressionEvaluationSummary",
        "exception",
        "retry",
        "stageEnabled",
        "restrictExecutionDuringTimeWindow",
        "restrictedExecutionWindow",
        "sendNotifications",
        "notifications",
        "afterStagesPlanned",
        "beforeStagePlanningFailed",
    }
)
#: Orca copies these of the parent into each precondition's own ``context`` when it lacks them.
_INTO_CONTEXT = ("cluster", "regions", "credentials", "zones")


def _is_check(stage: Stage) -> bool:
    """A child that checks one precondition (the parent only plans children)."""
    return stage.parent_stage_id is not None and _TYPE_KEY in stage.context


def _text(value: Any) -> str:
    """How Spinnaker prints a result: Java's toString for booleans and null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _passes(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


class CheckPreconditionTask(BaseTask):
    """Checks the one precondition in its stage's context."""

    # An expression may call #fromUrl and friends: keep the evaluation out of the transaction.
    pure = False

    async def execute(self, run: TaskRun) -> TaskResult:
        """Evaluate the precondition; TERMINAL (mapped by failPipeline) when it does not hold."""
        kind = run.context.get(_TYPE_KEY)
        settings = run.context.get("context")
        settings = dict(settings) if isinstance(settings, dict) else {}
        if kind == "expression":
            return self._expression(run, settings)
        if kind == "stageStatus":
            return self._stage_status(run, settings)
        if kind == "clusterSize":
            return await self._cluster_size(run, settings)
        return failed(
            f"Unknown precondition type {kind!r}; Gennaker supports {', '.join(SUPPORTED)}",
            exception_type="PreconditionFailed",
        )

    def _expression(self, run: TaskRun, settings: dict[str, Any]) -> TaskResult:
        expression = settings.get("expression")
        if expression is None or expression == "":
            expression = "false"
        if isinstance(expression, str):
            result = run.services.evaluator.evaluate_condition(run.execution, run.stage, expression)
        else:  # already evaluated by the stage-context pass (the user wrote ${...})
            result = expression
        shown = _text(result)
        if isinstance(result, str) and result.startswith("${") and result.endswith("}"):
            shown = result[2:-1]  # failed to evaluate: Orca keeps the text without its ${ }
        context = {"context": {**settings, "expressionResult": shown}, "expressionResult": shown}
        if _passes(result):
            return TaskResult.succeeded(context)
        if isinstance(result, str) and "${" in result:
            message = f"Precondition expression {expression!r} could not be evaluated"
        else:
            message = f"Precondition failed: expression {expression!r} evaluated to {shown}"
        return failed(message, context, exception_type="PreconditionFailed")

    async def _cluster_size(self, run: TaskRun, settings: dict[str, Any]) -> TaskResult:
        comparison = str(settings.get("comparison") or "==")
        compare = _COMPARISONS.get(comparison)
        expected = as_int(settings.get("expected"))
        expected = 1 if expected is None and settings.get("expected") in (None, "") else expected
        if compare is None or expected is None:
            return failed(
                f"clusterSize needs comparison one of {', '.join(_COMPARISONS)} and a whole number expected",
                exception_type="PreconditionFailed",
            )
        cluster = settings.get("cluster") or (settings.get("moniker") or {}).get("cluster")
        if not cluster:
            return failed(
                "A clusterSize precondition needs context.cluster", exception_type="PreconditionFailed"
            )
        try:
            provider, account = provider_of(run, settings)
        except BadStage as exc:
            return failed(str(exc), exception_type="PreconditionFailed")
        regions = [str(r) for r in settings.get("regions") or []] or [
            next((a.regions[0] for a in provider.accounts() if a.name == account), "local")
        ]
        groups = await fresh_server_groups(run, provider, account, cluster=str(cluster))
        only_enabled = as_bool(settings.get("onlyEnabledServerGroups"), False)
        for region in regions:
            found = [
                g for g in groups if g.get("region") == region and (not only_enabled or not g.get("disabled"))
            ]
            if not compare(len(found), expected):
                return failed(
                    f"Precondition check failed: expected {comparison} {expected} server groups in {region} "
                    f"for cluster {cluster}, but found {len(found)}",
                    exception_type="PreconditionFailed",
                )
        return TaskResult.succeeded()

    def _stage_status(self, run: TaskRun, settings: dict[str, Any]) -> TaskResult:
        name = settings.get("stageName")
        wanted = settings.get("stageStatus")
        if not name:
            return failed(
                "A stageStatus precondition needs context.stageName", exception_type="PreconditionFailed"
            )
        if not wanted:
            return failed(
                "A stageStatus precondition needs context.stageStatus", exception_type="PreconditionFailed"
            )
        found = next((s for s in run.execution.stages if s.name == name), None)
        if found is None:
            return failed(
                f"Precondition failed: no stage named {name!r} in execution {run.execution.id}",
                exception_type="PreconditionFailed",
            )
        actual = found.status.value
        if actual.lower() == str(wanted).strip().lower():
            return TaskResult.succeeded()
        return failed(
            f"Precondition failed: the status of stage {name!r} was asserted to be {wanted}, "
            f"but was actually {actual}",
            exception_type="PreconditionFailed",
        )


class CheckPreconditionsStage(BaseStage):
    """The parent plans the checks; each child runs one."""

    type = STAGE_TYPE

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """A child checks; the parent has no task of its own."""
        return [TaskSpec("checkPrecondition", "checkPreconditionTask")] if _is_check(stage) else []

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """One parallel child per precondition."""
        if _is_check(stage):
            return []
        specs = []
        base = {k: v for k, v in stage.context.items() if k not in _NOT_INHERITED}
        for entry in stage.context.get("preconditions") or []:
            if not isinstance(entry, dict):
                continue
            kind = str(entry.get("type") or "expression")
            context = copy.deepcopy(base)
            context.update({k: v for k, v in entry.items() if k != "type"})
            context[_TYPE_KEY] = kind
            own = dict(entry["context"]) if isinstance(entry.get("context"), dict) else {}
            wanted = (*_INTO_CONTEXT, "cloudProvider", "moniker") if kind == "clusterSize" else _INTO_CONTEXT
            for key in wanted:
                if key not in own and key in base:
                    own[key] = copy.deepcopy(base[key])
            context["context"] = own
            context["failPipeline"] = as_bool(entry.get("failPipeline", base.get("failPipeline")), True)
            specs.append(
                SyntheticStageSpec(STAGE_TYPE, f"Check precondition ({kind})", context, chained=False)
            )
        return specs


def register(registry: Registry, settings: Any) -> None:
    """Add the checkPreconditions stage type."""
    registry.add_task("checkPreconditionTask", CheckPreconditionTask())
    registry.add_stage(CheckPreconditionsStage())
