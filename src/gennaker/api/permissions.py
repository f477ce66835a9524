"""Which permission each API route needs, declared once per route, and the dependency that enforces
it before the handler runs (Gate's ``@PreAuthorize`` over Fiat).

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

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request

from gennaker.authz.model import Action, Decision, Principal
from gennaker.model.moniker import parse_name
from gennaker.services import Services

R, W, X = Action.READ, Action.WRITE, Action.EXECUTE
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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


# -- enforcement --


def principal_of(request: Request) -> Principal | None:
    """The principal ``enforce`` resolved for this request (None with authorization off)."""
    found = getattr(request.state, "principal", None)
    return found if isinstance(found, Principal) else None


def _label(request: Request) -> str:
    return f"{request.method} {request.url.path}"


def _application_of_execution(services: Services, execution_id: str, *, orchestration: bool) -> str | None:
    with services.db.read() as conn:
        found = services.executions.find(conn, execution_id)
    if found is None or (orchestration and found.type != "ORCHESTRATION"):
        return None
    return found.application


def _application_of_config(services: Services, config_id: str) -> str | None:
    with services.db.read() as conn:
        found = services.pipelines.find(conn, config_id) or services.strategies.find(conn, config_id)
    if found is None:
        return None
    application = found.get("application")
    return str(application) if application else None


def check(
    services: Services, rule: Rule, who: Principal, params: dict[str, str], label: str, method: str
) -> None:
    """Apply a rule to a request (Forbidden when refused; audited)."""
    authz = services.authz
    audit_allowed = method not in SAFE_METHODS
    if rule.kind in ("public", "signed_in", "filtered", "body"):
        return  # nothing to decide here (a body rule is checked by its handler)
    if rule.kind == "admin":

        def decide_admin(p: Principal) -> Decision:
            roles = ", ".join(sorted(authz.settings.admin_roles)) or "none configured"
            allowed = p.admin
            rule_text = "admin role" if allowed else f"only members of authz.admin_roles ({roles}) may"
            return Decision(allowed, Action.WRITE, "admin", label, rule_text)

        authz.require(who, decide_admin, request=label, audit_allowed=audit_allowed)
        return
    value = params.get(rule.param or "", "")
    assert rule.action is not None
    action = rule.action
    if rule.kind == "account" or rule.kind == "server_group":
        account_name = params.get("account", "")
        authz.require(
            who,
            lambda p: authz.evaluator.account(p, account_name, Action.READ),
            request=label,
            audit_allowed=False,
        )
        if rule.kind == "account":
            return
        application: str | None = parse_name(value).app if value else None
    elif rule.kind == "application":
        application = value
    elif rule.kind == "execution":
        application = _application_of_execution(services, value, orchestration=False)
    elif rule.kind == "task":
        application = _application_of_execution(services, value, orchestration=True)
    else:
        application = _application_of_config(services, value)
    if not application:
        return  # nothing of that id: the handler answers 404, leaking nothing
    authz.require(
        who,
        lambda p: authz.application(p, application, action),
        request=label,
        audit_allowed=audit_allowed,
        application=application.lower(),
        execution_id=value if rule.kind in ("execution", "task") else None,
    )


async def enforce(request: Request) -> None:
    """The dependency every route carries: resolve the principal, apply the route's rule."""
    services: Services = request.app.state.services
    if not services.authz.enabled:
        return
    route = request.scope.get("route")
    path = str(getattr(route, "path", request.url.path))
    rule = rule_for(request.method, path)
    user = getattr(request.state, "user", None)
    if not isinstance(user, str):
        return  # an open path without credentials; protected paths never get here unauthenticated
    who = await anyio.to_thread.run_sync(services.authz.principal, user)
    request.state.principal = who
    if who is None:
        return
    if rule is None:
        rule = ADMIN  # a route nobody declared is for admins only until it is
    params = {k: str(v) for k, v in request.path_params.items()}
    await anyio.to_thread.run_sync(check, services, rule, who, params, _label(request), request.method)


def require_body(
    request: Request, services: Services, application: str, action: Action, *, execution_id: str | None = None
) -> None:
    """A handler's check of the application its body names (rule kind ``body``)."""
    who = principal_of(request)
    if who is None or not application:
        return
    services.authz.require(
        who,
        lambda p: services.authz.application(p, application, action),
        request=_label(request),
        audit_allowed=True,
        application=application.lower(),
        execution_id=execution_id,
    )


def require_account(request: Request, services: Services, name: str, action: Action) -> None:
    """A handler's check of an account its body names."""
    who = principal_of(request)
    if who is None or not name:
        return
    services.authz.require(
        who,
        lambda p: services.authz.evaluator.account(p, name, action),
        request=_label(request),
        audit_allowed=True,
    )


def readable(request: Request, services: Services) -> Callable[[str | None], bool]:
    """A predicate: may this request's user READ the named application (answers remembered)."""
    who = principal_of(request)
    if who is None:
        return lambda _name: True
    answers: dict[str, bool] = {}
    return lambda name: services.authz.can_read(who, name, answers)


def require_config_save(request: Request, services: Services, config: Any, *, kind: str = "pipeline") -> None:
    """Saving a pipeline (or strategy) config: WRITE on its application and on the application of
    the stored config it replaces; every trigger's ``runAsUser`` must be a service account the user
    may use (Fiat: they hold all of its roles). Refused: 403, nothing saved."""
    who = principal_of(request)
    if who is None or not isinstance(config, dict):
        return
    application = str(config.get("application") or "")
    require_body(request, services, application, Action.WRITE)
    config_id = config.get("id")
    if isinstance(config_id, str) and config_id:
        repository = services.pipelines if kind == "pipeline" else services.strategies
        with services.db.read() as conn:
            stored = repository.find(conn, config_id)
        stored_app = str((stored or {}).get("application") or "")
        if stored_app and stored_app.lower() != application.lower():
            require_body(request, services, stored_app, Action.WRITE)
    for trigger in config.get("triggers") or []:
        run_as = trigger.get("runAsUser") if isinstance(trigger, dict) else None
        if not run_as:
            continue
        services.authz.require(
            who,
            functools.partial(_use_service_account, services, str(run_as)),
            request=_label(request),
            audit_allowed=False,
            application=application.lower() or None,
        )


def _use_service_account(services: Services, name: str, who: Principal) -> Decision:
    return services.authz.evaluator.use_service_account(who, name)


def event_visibility(request: Request) -> Callable[[str | None], bool]:
    """Which events a user may see: those of applications they may READ; events that belong to no
    application (a trigger source's own failure, an admin's refusals) only for admins."""
    services: Services = request.app.state.services
    who = principal_of(request)
    if who is None or who.admin:
        return lambda _app: True
    may_read = readable(request, services)
    return lambda application: bool(application) and may_read(application)


def readable_execution_ids(request: Request, services: Services, conn: Any, ids: list[str]) -> list[str]:
    """Of these execution ids, those of applications the user may READ (order kept)."""
    if principal_of(request) is None or not ids:
        return ids
    import sqlalchemy as sa

    from gennaker.store.schema import executions as executions_t

    owners = dict(
        conn.execute(
            sa.select(executions_t.c.id, executions_t.c.application).where(executions_t.c.id.in_(ids))
        ).all()
    )
    may_read = readable(request, services)
    return [i for i in ids if may_read(owners.get(i))]


def record_application(record: Any) -> str | None:
    """The application an infrastructure record (server group, load balancer, instance) belongs to."""
    if not isinstance(record, dict):
        return None
    app = record.get("application") or (record.get("moniker") or {}).get("app")
    if isinstance(app, str) and app:
        return app
    for key in ("serverGroup", "serverGroupName", "name"):
        value = record.get(key)
        if isinstance(value, str) and value:
            return parse_name(value).app
    return None
