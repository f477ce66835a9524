"""Which permission each API route needs, declared once per route (Gate's ``@PreAuthorize``);
``gennaker.api.permissions`` enforces them before the handler runs.

Every route of the app must have an entry in ``RULES`` (keyed by method and path template); a
route without one is refused to everyone but admins, and ``undeclared(app)`` names it (the test over
the OpenAPI document fails on it). The OpenAPI document states each operation's permission as
``x-gennaker-permission``.

Kinds of rule:

- ``public``: anyone, even without credentials (``/health``, incoming webhooks).
- ``signed_in``: any signed-in user; ``filtered`` as well, and the handler drops what the user may
  not READ from the list it answers.
- ``admin``: only members of ``authz.admin_roles``.
- ``application`` / ``execution`` / ``config`` / ``task`` / ``account``: the action on the
  application named by a path parameter, or owning the execution, pipeline config or task it names,
  or on the account it names.
- ``body``: the handler checks the application (and accounts) named in the request body, before
  changing anything.

With authorization off (authentication off: the laptop default) nothing is checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from gennaker.authz.model import Action

R, W, X = Action.READ, Action.WRITE, Action.EXECUTE


@dataclass(frozen=True)
class Rule:
    """One route's permission."""

    kind: str
    action: Action | None = None
    param: str | None = None

    def describe(self) -> str:
        """The human form shown in the OpenAPI document and in refusals."""
        if self.kind in ("public", "signed_in", "admin"):
            return {"public": "none (open)", "signed_in": "any signed-in user", "admin": "admin"}[self.kind]
        if self.kind == "filtered":
            return "any signed-in user; lists only what the user may READ"
        if self.kind == "body":
            return f"{self.action.value if self.action else ''} on the application named in the body"
        what = {
            "application": "application {%s}",
            "execution": "the application of execution {%s}",
            "config": "the application of pipeline config {%s}",
            "task": "the application of task {%s}",
            "account": "account {%s}",
            "server_group": "account {account} and the application of server group {%s}",
        }[self.kind] % (self.param or "")
        return f"{self.action.value if self.action else ''} on {what}"


PUBLIC = Rule("public")
SIGNED_IN = Rule("signed_in")
FILTERED = Rule("filtered")
ADMIN = Rule("admin")


def app(action: Action, param: str = "application") -> Rule:
    """The action on the application in path parameter ``param``."""
    return Rule("application", action, param)


def execution(action: Action, param: str = "execution_id") -> Rule:
    """The action on the application of the execution in ``param``."""
    return Rule("execution", action, param)


def config(action: Action, param: str = "config_id") -> Rule:
    """The action on the application of the pipeline or strategy config in ``param``."""
    return Rule("config", action, param)


def task(action: Action, param: str = "task_id") -> Rule:
    """The action on the application of the task (orchestration) in ``param``."""
    return Rule("task", action, param)


def account(action: Action, param: str = "account") -> Rule:
    """The action on the account in ``param``."""
    return Rule("account", action, param)


def body(action: Action) -> Rule:
    """Checked by the handler against the body's application."""
    return Rule("body", action)


_KAYENTA = {
    "GET /canaryConfig": SIGNED_IN,
    "POST /canaryConfig": SIGNED_IN,
    "GET /canaryConfig/{config_id}": SIGNED_IN,
    "PUT /canaryConfig/{config_id}": SIGNED_IN,
    "DELETE /canaryConfig/{config_id}": SIGNED_IN,
    "GET /judges": SIGNED_IN,
    "POST /judges/judge": SIGNED_IN,
    "GET /metricSetPairList": SIGNED_IN,
    "POST /metricSetPairList": SIGNED_IN,
    "GET /metricSetPairList/{list_id}": SIGNED_IN,
    "DELETE /metricSetPairList/{list_id}": SIGNED_IN,
    "GET /metricSetPairList/{list_id}/{pair_id}": SIGNED_IN,
    "GET /canary/executions": FILTERED,
    "POST /canary/{config_id}": SIGNED_IN,
    "POST /canary": SIGNED_IN,
    "GET /canary/{execution_id}": SIGNED_IN,
    "GET /metricsServices": SIGNED_IN,
    "GET /metadata/metricsService": SIGNED_IN,
    "POST /standalone_canary_analysis/{config_id}": SIGNED_IN,
    "POST /standalone_canary_analysis": SIGNED_IN,
    "GET /standalone_canary_analysis/{execution_id}": SIGNED_IN,
}

RULES: dict[str, Rule] = {
    "GET /health": PUBLIC,
    "GET /metrics": SIGNED_IN,
    # Gate's /auth endpoints and sign-in
    "GET /auth/user": SIGNED_IN,
    "GET /auth/loggedOut": PUBLIC,
    "GET /authorize/{user}": SIGNED_IN,
    "POST /login": PUBLIC,
    "POST /logout": SIGNED_IN,
    "GET /auth/logout": SIGNED_IN,
    "GET /login/oidc": PUBLIC,
    "GET /login/oidc/callback": PUBLIC,
    # applications (Front50)
    "GET /applications": FILTERED,
    "POST /applications": body(W),
    "GET /applications/{application}": app(R),
    "DELETE /applications/{application}": app(W),
    # pipeline and strategy configs
    "GET /applications/{application}/pipelineConfigs": app(R),
    "GET /applications/{application}/pipelineConfigs/{name}": app(R),
    "POST /applications/{application}/pipelineConfigs/{name}": app(X),
    "GET /pipelineConfigs/{config_id}": config(R),
    "POST /pipelines": body(W),
    "POST /pipelines/validate": SIGNED_IN,
    "PUT /pipelines/{config_id}": config(W),
    "DELETE /pipelines/{application}/{name}": app(W),
    "GET /pipelineConfigs/{config_id}/history": config(R),
    "GET /pipelineConfigs/{config_id}/history/{revision}": config(R),
    "POST /pipelineConfigs/{config_id}/history/{revision}/restore": config(W),
    "GET /pipelineConfigs/{config_id}/triggerStatus": config(R),
    "GET /applications/{application}/pipelineConfigs/{name}/triggerStatus": app(R),
    "GET /applications/{application}/strategyConfigs": app(R),
    "GET /applications/{application}/strategyConfigs/{name}": app(R),
    "POST /strategies": body(W),
    "DELETE /strategies/{application}/{name}": app(W),
    "GET /strategyConfigs/{config_id}/history": config(R),
    # templates are shared by every application (Front50 v2 templates carry no permissions)
    "GET /v2/pipelineTemplates": SIGNED_IN,
    "POST /v2/pipelineTemplates/plan": SIGNED_IN,
    "GET /v2/pipelineTemplates/versions": SIGNED_IN,
    "GET /v2/pipelineTemplates/{template_id}/dependents": SIGNED_IN,
    "GET /v2/pipelineTemplates/{template_id}": SIGNED_IN,
    "DELETE /v2/pipelineTemplates/{template_id}": SIGNED_IN,
    "POST /v2/pipelineTemplates/create": SIGNED_IN,
    "POST /v2/pipelineTemplates/update/{template_id}": SIGNED_IN,
    # pipelines kept in git write every application they name: admins
    "GET /gitops": ADMIN,
    "GET /gitops/{repository}/plan": ADMIN,
    "POST /gitops/{repository}/sync": ADMIN,
    "GET /gitops/{repository}/syncs": ADMIN,
    "GET /policies": SIGNED_IN,
    "POST /policies/evaluate": SIGNED_IN,
    # executions
    "POST /pipelines/{execution_id}/evaluateExpression": execution(R),
    "GET /pipelines/{execution_id}/evaluateExpression": execution(R),
    "POST /pipelines/{execution_id}/{stage_id}/evaluateExpression": execution(R),
    "GET /pipelines/{execution_id}/{stage_id}/evaluateExpression": execution(R),
    "POST /pipelines/{execution_id}/evaluateVariables": execution(R),
    "POST /pipelines/{application}/{name_or_id}": app(X),
    "POST /pipelines/v2/{application}/{name_or_id}": app(X),
    "POST /pipelines/start": body(X),
    "GET /pipelines/{execution_id}": execution(R),
    "DELETE /pipelines/{execution_id}": execution(W),
    "GET /applications/{application}/pipelines": app(R),
    "GET /executions": FILTERED,
    "GET /applications/{application}/executions/search": app(R),
    "PUT /pipelines/{execution_id}/cancel": execution(X),
    "PUT /pipelines/{execution_id}/pause": execution(X),
    "PUT /pipelines/{execution_id}/resume": execution(X),
    "PATCH /pipelines/{execution_id}/stages/{stage_id}": execution(X),
    "PUT /pipelines/{execution_id}/stages/{stage_id}/restart": execution(X),
    "GET /pipelines/{execution_id}/stages/{stage_id}/logs": execution(R),
    # ad-hoc tasks: WRITE on the application and on every account a job names
    "POST /tasks": body(W),
    "POST /applications/{application}/tasks": body(W),
    "GET /applications/{application}/tasks": app(R),
    "GET /tasks/{task_id}": task(R),
    "DELETE /tasks/{task_id}": task(W),
    "PUT /tasks/{task_id}/cancel": task(X),
    "GET /webhooks/preconfigured": SIGNED_IN,
    "POST /webhooks/{type_}/{source}": PUBLIC,
    "GET /events/stream": FILTERED,
    "GET /events": FILTERED,
    # infrastructure (Clouddriver)
    "GET /credentials": FILTERED,
    "GET /credentials/{account}": account(R),
    "GET /applications/{application}/clusters": app(R),
    "GET /applications/{application}/clusters/{account}": app(R),
    "GET /applications/{application}/clusters/{account}/{cluster}": app(R),
    "GET /applications/{application}/clusters/{account}/{cluster}/{cloud_provider}": app(R),
    "GET /applications/{application}/serverGroups": app(R),
    "GET /applications/{application}/serverGroups/{account}/{region}/{name}": app(R),
    "GET /serverGroups/{account}/{region}/{name}": Rule("server_group", R, "name"),
    "GET /applications/{application}/serverGroupManagers": app(R),
    "GET /applications/{application}/loadBalancers": app(R),
    "GET /loadBalancers": FILTERED,
    "GET /loadBalancers/{account}/{region}/{name}": Rule("server_group", R, "name"),
    "GET /instances/{account}/{region}/{instance_id}": FILTERED,
    "GET /instances/{account}/{region}/{instance_id}/console": FILTERED,
    "GET /images/find": SIGNED_IN,
    # Kubernetes manifests (Gate's ManifestController: the account's READ; cluster views the
    # application's READ)
    "GET /manifests/{account}/{location}/{name}": account(R),
    "GET /manifests/{account}/{location}/{kind}/cluster/{application}/{cluster}": app(R),
    "GET /manifests/{account}/{location}/{kind}/cluster/{application}/{cluster}/dynamic/{criteria}": app(R),
    # artifact accounts (Clouddriver's artifact credentials carry no permissions)
    "GET /artifacts/credentials": SIGNED_IN,
    # Clouddriver's on-demand cache refresh changes nothing but the cache
    "POST /cache/{cloud_provider}/{type_name}": SIGNED_IN,
    "GET /cache/{cloud_provider}/{type_name}": SIGNED_IN,
    # Prometheus service discovery lists every application's instances: a scraper's admin token
    "GET /prometheus/targets": ADMIN,
    "PUT /artifacts/fetch": SIGNED_IN,
    "GET /artifacts/account/{account}/names": SIGNED_IN,
    "GET /securityGroups": SIGNED_IN,
    # projects group applications; their views list only what the user may READ
    "GET /projects": SIGNED_IN,
    "POST /projects": SIGNED_IN,
    "GET /projects/{project}": SIGNED_IN,
    "GET /projects/{project}/clusters": FILTERED,
    "GET /projects/{project}/pipelines": FILTERED,
    "PUT /projects/{project_id}": SIGNED_IN,
    "DELETE /projects/{project_id}": SIGNED_IN,
    "GET /notifications/metadata": SIGNED_IN,
    "GET /notifications/{level}/{application}": app(R),
    "POST /notifications/{level}/{application}": app(W),
    "DELETE /notifications/{level}/{application}": app(W),
    "GET /search": FILTERED,
    "GET /capabilities/quietPeriod": SIGNED_IN,
    "GET /jobs/preconfigured": SIGNED_IN,
    "GET /plugins/deck/plugin-manifest.json": SIGNED_IN,
    **_KAYENTA,
    **{f"{k.split(' ')[0]} /kayenta{k.split(' ', 1)[1]}": v for k, v in _KAYENTA.items()},
    "GET /kayenta/credentials": SIGNED_IN,
    "GET /v2/canaryConfig": SIGNED_IN,
    "POST /v2/canaryConfig": SIGNED_IN,
    "GET /v2/canaryConfig/{config_id}": SIGNED_IN,
    "PUT /v2/canaryConfig/{config_id}": SIGNED_IN,
    "DELETE /v2/canaryConfig/{config_id}": SIGNED_IN,
    "GET /v2/canaries/credentials": SIGNED_IN,
    "GET /v2/canaries/metadata/metricsService": SIGNED_IN,
    "GET /v2/canaries/judges": SIGNED_IN,
    "POST /v2/canaries/canary/{config_id}": SIGNED_IN,
    "POST /v2/canaries/canary": SIGNED_IN,
    "GET /v2/canaries/canary/{config_id}/{execution_id}": SIGNED_IN,
    "GET /v2/canaries/canary/{execution_id}": SIGNED_IN,
    "GET /v2/canaries/{application}/executions": app(R),
    "GET /v2/canaries/metricSetPairList/{list_id}": SIGNED_IN,
    # the web UI (pages check what they show; see gennaker.web)
    "GET /": PUBLIC,
    "GET /ui": PUBLIC,
    "GET /ui/static/{name}": PUBLIC,
    "GET /ui/login": PUBLIC,
    "POST /ui/login": PUBLIC,
    "POST /ui/logout": SIGNED_IN,
    "GET /ui/": FILTERED,
    "GET /ui/applications/new": SIGNED_IN,
    "GET /ui/applications/{application}/config": app(R),
    "GET /ui/applications/{application}/executions/{execution_id}": app(R),
    "GET /ui/applications/{application}/executions": app(R),
    "GET /ui/applications/{application}/pipelines/new": app(R),
    "GET /ui/applications/{application}/pipelines/{config_id}/edit": app(R),
    "GET /ui/applications/{application}/pipelines/{config_id}/history": app(R),
    "GET /ui/applications/{application}/infrastructure": app(R),
    "GET /ui/applications/{application}/canary": app(R),
}


def rule_for(method: str, path: str) -> Rule | None:
    """The declared rule of a route (HEAD answers as GET)."""
    method = "GET" if method == "HEAD" else method
    return RULES.get(f"{method} {path}")


def undeclared(routes: Iterable[tuple[str, str]]) -> list[str]:
    """Of (method, path) pairs, those without a declared rule."""
    return [f"{m} {p}" for m, p in routes if rule_for(m, p) is None]


def document_permissions(application: FastAPI) -> None:
    """Make the OpenAPI document state each operation's permission (``x-gennaker-permission``)."""
    build = application.openapi

    def openapi() -> dict[str, Any]:
        if application.openapi_schema is not None:
            return application.openapi_schema
        schema = build()
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                rule = rule_for(method.upper(), path)
                if isinstance(operation, dict):
                    operation["x-gennaker-permission"] = (
                        rule.describe() if rule else "undeclared: admins only"
                    )
        return schema

    application.openapi = openapi  # type: ignore[method-assign]
