"""``kayentaCanary`` with ``deployments`` (orca-kayenta's deployment-integrated variant):

    kayentaCanary
      deployCanaryServerGroups "Deploy Canary Server Groups"   task propagateDeployedServerGroupScopes
        findImageFromCluster "Find baseline image"             the image the baseline cluster runs now
        deploy "Deploy control server groups"                  after it: the baseline image, highlander
        deploy "Deploy experiment server groups"               in parallel: the upstream bake's image
      runCanaryIntervals                                       scopes = the deployed server groups
      cleanupCanaryClusters "Cleanup Canary Clusters"          after the stage, and on its failure
        disableCluster "Disable control/experiment cluster X"  (continue on failure)
        wait "Wait before cleanup"                             delayBeforeCleanup
        shrinkCluster "Cleanup control/experiment cluster X"   to 0, active ones too

A canceled stage plans no cleanup stages (cancel stops the graph), so its cancel hook destroys the
two clusters directly. Production (the baseline cluster) is never touched: baseline and canary are
fresh, equal-size server groups.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import BaseStage, BaseTask, SyntheticStageSpec, TaskResult, TaskRun, TaskSpec
from gennaker.model.execution import Execution, Stage
from gennaker.model.moniker import cluster_name
from gennaker.providers.clouddriver import Clouddriver
from gennaker.providers.operations import operation_id
from gennaker.providers.protocol import SERVER_GROUPS, OperationRequest
from gennaker.stages._common import failed

log = logging.getLogger(__name__)

DEPLOY_CANARY_SERVER_GROUPS = "deployCanaryServerGroups"
CLEANUP_CANARY_CLUSTERS = "cleanupCanaryClusters"
DEPLOY_CONTROL = "Deploy control server groups"
DEPLOY_EXPERIMENT = "Deploy experiment server groups"
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def _side_regions(side: Mapping[str, Any]) -> list[str]:
    if side.get("region"):
        return [str(side["region"])]
    zones = side.get("availabilityZones")
    if isinstance(zones, Mapping):
        return [str(k) for k in zones]
    return [str(r) for r in side.get("regions") or []]


def _side_cluster(side: Mapping[str, Any]) -> str | None:
    moniker = side.get("moniker")
    if isinstance(moniker, Mapping) and moniker.get("cluster"):
        return str(moniker["cluster"])
    app = side.get("application") or (moniker.get("app") if isinstance(moniker, Mapping) else None)
    if not app:
        return None
    return cluster_name(str(app), side.get("stack") or None, side.get("freeFormDetails") or None)


def problem(deployments: Any) -> str | None:
    """What is wrong with a ``deployments`` block (naming the field), or None."""
    if not isinstance(deployments, Mapping):
        return "deployments must be an object with baseline and serverGroupPairs"
    baseline = deployments.get("baseline")
    if not isinstance(baseline, Mapping):
        return "deployments.baseline must be an object {application, account, cluster}"
    for key in ("application", "account", "cluster"):
        if not baseline.get(key):
            return f"deployments.baseline.{key} is required"
    pairs = deployments.get("serverGroupPairs")
    if not isinstance(pairs, list) or not pairs:
        return "deployments.serverGroupPairs must be a list of {control, experiment} deploy clusters"
    for i, pair in enumerate(pairs):
        if not isinstance(pair, Mapping):
            return f"deployments.serverGroupPairs[{i}] must be an object {{control, experiment}}"
        for role in ("control", "experiment"):
            side = pair.get(role)
            where = f"deployments.serverGroupPairs[{i}].{role}"
            if not isinstance(side, Mapping):
                return f"{where} must be a deploy cluster (cloudProvider, account, region, application, ...)"
            if not (side.get("account") or side.get("credentials")):
                return f"{where}.account is required"
            if not side.get("cloudProvider"):
                return f"{where}.cloudProvider is required"
            if not _side_regions(side):
                return f"{where} needs region or availabilityZones"
            if _side_cluster(side) is None:
                return f"{where} needs moniker or application/stack/freeFormDetails"
            if _side_cluster(side) == baseline.get("cluster"):
                return (
                    f"{where} would deploy into the baseline cluster {baseline.get('cluster')!r}; "
                    "give it its own stack or freeFormDetails (e.g. 'baseline' / 'canary')"
                )
    try:
        delay_seconds(deployments)
    except ValueError as exc:
        return str(exc)
    return None


def delay_seconds(deployments: Mapping[str, Any]) -> int:
    """``delayBeforeCleanup`` (an ISO-8601 duration, default PT0S) in whole seconds."""
    raw = deployments.get("delayBeforeCleanup") or "PT0S"
    match = _DURATION.match(str(raw))
    if not match or str(raw) in ("P", "PT"):
        raise ValueError(
            f"deployments.delayBeforeCleanup must be an ISO-8601 duration like PT5M, got {raw!r}"
        )
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return int(days * 86400 + hours * 3600 + minutes * 60 + seconds)


def regions(deployments: Mapping[str, Any]) -> list[str]:
    """The union of every side's regions, in order of appearance."""
    found: list[str] = []
    for pair in deployments.get("serverGroupPairs") or []:
        for role in ("control", "experiment"):
            for region in _side_regions(pair.get(role) or {}):
                if region not in found:
                    found.append(region)
    return found


def _sides(deployments: Mapping[str, Any], role: str) -> list[dict[str, Any]]:
    return [dict(pair[role]) for pair in deployments.get("serverGroupPairs") or []]


def _cluster_context(side: Mapping[str, Any]) -> dict[str, Any]:
    cluster = _side_cluster(side)
    moniker = side.get("moniker") if isinstance(side.get("moniker"), Mapping) else None
    return {
        "cloudProvider": side.get("cloudProvider"),
        "credentials": side.get("account") or side.get("credentials"),
        "cluster": cluster,
        "moniker": dict(moniker) if moniker else {"app": side.get("application"), "cluster": cluster},
        "regions": _side_regions(side),
    }


def deploy_stages(deployments: Mapping[str, Any]) -> list[SyntheticStageSpec]:
    """Orca's DeployCanaryServerGroupsStage: find the baseline image, then deploy the control
    server groups with it; the experiment server groups in parallel, from the upstream image."""
    baseline = deployments["baseline"]
    find = {
        "application": baseline.get("application"),
        "account": baseline.get("account"),
        "cluster": baseline.get("cluster"),
        "regions": regions(deployments),
        "cloudProvider": baseline.get("cloudProvider") or "aws",
    }
    controls = {"clusters": _sides(deployments, "control"), "strategy": "highlander"}
    experiments = {"clusters": _sides(deployments, "experiment"), "strategy": "highlander"}
    return [
        SyntheticStageSpec("findImageFromCluster", "Find baseline image", find),
        SyntheticStageSpec("deploy", DEPLOY_CONTROL, controls),
        SyntheticStageSpec("deploy", DEPLOY_EXPERIMENT, experiments, chained=False),
    ]


def cleanup_stages(deployments: Mapping[str, Any]) -> list[SyntheticStageSpec]:
    """Orca's CleanupCanaryClustersStage: disable both clusters, wait, shrink both to nothing.

    Every step goes on when the one before it failed, so that a failed disable still leads to the
    shrink that destroys the server groups. (Orca runs each pair of steps in parallel; here they
    run one after the other, which ends the same way.)"""
    go_on = {"continuePipeline": True, "allowSiblingStagesToContinueOnFailure": True}
    disables, shrinks = [], []
    for pair in deployments.get("serverGroupPairs") or []:
        for role in ("control", "experiment"):
            ctx = _cluster_context(pair[role])
            disables.append(
                SyntheticStageSpec(
                    "disableCluster",
                    f"Disable {role} cluster {ctx['cluster']}",
                    {**ctx, "remainingEnabledServerGroups": 0, **go_on},
                )
            )
            shrinks.append(
                SyntheticStageSpec(
                    "shrinkCluster",
                    f"Cleanup {role} cluster {ctx['cluster']}",
                    {**ctx, "allowDeleteActive": True, "shrinkToSize": 0, **go_on},
                )
            )
    wait = SyntheticStageSpec(
        "wait", "Wait before cleanup", {"waitTime": delay_seconds(deployments), **go_on}
    )
    return [*disables, wait, *shrinks]


class DeployCanaryServerGroupsStage(BaseStage):
    """Deploys the baseline (control) and canary (experiment) server groups."""

    type = DEPLOY_CANARY_SERVER_GROUPS

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Find image, deploy control, deploy experiment."""
        deployments = stage.context.get("deployments")
        if problem(deployments) is not None:
            return []
        assert isinstance(deployments, Mapping)
        return deploy_stages(deployments)

    def tasks(self, stage: Stage) -> list[TaskSpec]:
        """Record the deployed server groups as the canary's scopes."""
        return [TaskSpec("propagateDeployedServerGroupScopes", "propagateDeployedServerGroupScopes")]


class CleanupCanaryClustersStage(BaseStage):
    """Destroys the baseline and canary server groups, whatever the canary's outcome."""

    type = CLEANUP_CANARY_CLUSTERS

    def before_stages(self, stage: Stage) -> list[SyntheticStageSpec]:
        """Disable, wait, shrink."""
        deployments = stage.context.get("deployments")
        if problem(deployments) is not None:
            return []
        assert isinstance(deployments, Mapping)
        return cleanup_stages(deployments)


def _children(execution: Execution, parent: Stage, name: str) -> list[Stage]:
    deploy = next(
        (s for s in execution.stages if s.parent_stage_id == parent.id and s.name == name),
        None,
    )
    if deploy is None:
        return []
    return [s for s in execution.stages if s.parent_stage_id == deploy.id]


def _first_deployed(stage: Stage) -> tuple[str, str, str] | None:
    groups = stage.context.get("deploy.server.groups")
    account = stage.context.get("deploy.account.name")
    if not isinstance(groups, Mapping) or not groups or not account:
        return None
    location, names = next(iter(groups.items()))
    if not names:
        return None
    return str(location), str(names[0]), str(account)


class PropagateDeployedServerGroupScopesTask(BaseTask):
    """Orca's PropagateDeployedServerGroupScopes: pairs the control and experiment deploys'
    server groups and outputs them as ``deployedServerGroups``."""

    async def execute(self, run: TaskRun) -> TaskResult:
        """Zip the two deploy stages' children."""
        controls = _children(run.execution, run.stage, DEPLOY_CONTROL)
        experiments = _children(run.execution, run.stage, DEPLOY_EXPERIMENT)
        if not controls or not experiments:
            return failed(f"Could not find stage {DEPLOY_CONTROL if not controls else DEPLOY_EXPERIMENT}.")
        scopes = []
        for control, experiment in zip(controls, experiments, strict=False):
            c = _first_deployed(control)
            e = _first_deployed(experiment)
            if c is None or e is None:
                missing = control.name if c is None else experiment.name
                return failed(f"stage {missing!r} recorded no deployed server group (deploy.server.groups)")
            scopes.append(
                {
                    "controlLocation": c[0],
                    "controlScope": c[1],
                    "controlAccountId": _account_id(run, c[2]),
                    "experimentLocation": e[0],
                    "experimentScope": e[1],
                    "experimentAccountId": _account_id(run, e[2]),
                }
            )
        return TaskResult.succeeded(outputs={"deployedServerGroups": scopes})


def _account_id(run: TaskRun, account: str) -> str | None:
    found = getattr(run.services, "clouddriver", None)
    if not isinstance(found, Clouddriver):
        return None
    for provider in found.registry:
        for candidate in provider.accounts():
            if candidate.name == account:
                return str(candidate.to_json(expand=False).get("accountId") or account)
    return None


def deployed_scopes(scopes: Mapping[str, Any], deployed: Any) -> dict[str, Any] | None:
    """The request scopes with the first deployed pair as every scope's control and experiment
    (Orca's RunCanaryIntervalsStage with deployments): scope, location, and extendedScopeParams
    ``type=asg``, ``dataset=regional`` unless set, ``accountId``. None when nothing was deployed."""
    if not isinstance(deployed, list) or not deployed or not isinstance(deployed[0], Mapping):
        return None
    pair = deployed[0]
    result: dict[str, Any] = {}
    for name, scope in scopes.items():
        entry = {}
        for role, prefix in (("controlScope", "control"), ("experimentScope", "experiment")):
            side = dict(scope.get(role) or {})
            side["scope"] = pair.get(f"{prefix}Scope")
            side["location"] = pair.get(f"{prefix}Location")
            params = dict(side.get("extendedScopeParams") or {})
            params["type"] = "asg"
            params.setdefault("dataset", "regional")
            if pair.get(f"{prefix}AccountId") is not None:
                params["accountId"] = pair.get(f"{prefix}AccountId")
            side["extendedScopeParams"] = params
            entry[role] = side
        result[name] = entry
    return result


async def destroy_clusters(
    clouddriver: Clouddriver, attempt: str, application: str, deployments: Mapping[str, Any]
) -> list[str]:
    """Destroy every server group of the control and experiment clusters (the cancel path, where
    no cleanup stage runs); best effort, returns the names destroyed."""
    destroyed: list[str] = []
    index = 0
    for pair in deployments.get("serverGroupPairs") or []:
        for role in ("control", "experiment"):
            ctx = _cluster_context(pair[role])
            account = str(ctx["credentials"])
            try:
                provider = clouddriver.registry.provider_for(str(ctx["cloudProvider"]), account)
            except Exception as exc:
                log.warning("cannot clean up canary cluster %s: %s", ctx["cluster"], exc)
                continue
            await clouddriver.cache.refresh(provider, account)
            for group in clouddriver.cache.query(SERVER_GROUPS, account=account, cloud_provider=provider.id):
                if group.get("cluster") != ctx["cluster"] or group.get("region") not in ctx["regions"]:
                    continue
                name = str(group["name"])
                index += 1
                request = OperationRequest(
                    operation_id(f"{attempt}-cancel-{name}", "destroyServerGroup", index),
                    "destroyServerGroup",
                    {
                        "serverGroupName": name,
                        "asgName": name,
                        "region": group.get("region"),
                        "credentials": account,
                    },
                    account,
                    application,
                )
                record = await clouddriver.operations.submit(provider, request)
                if record.status == "SUCCEEDED":
                    destroyed.append(name)
                else:
                    log.warning("cannot destroy canary server group %s: %s", name, record.error)
    return destroyed
