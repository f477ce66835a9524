"""Enforcing each route's declared permission (``route_permissions.RULES``) before its handler
runs, and the checks handlers make on what their body names or their lists hold.

With authorization off (authentication off: the laptop default) nothing is checked.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from fastapi import Request

from gennaker.api.route_permissions import ADMIN, Rule, document_permissions, rule_for, undeclared
from gennaker.authz.model import Action, Decision, Principal
from gennaker.model.moniker import parse_name
from gennaker.services import Services

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
__all__ = ["document_permissions", "enforce", "principal_of", "rule_for", "undeclared"]


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
    if rule.kind in ("signed_in", "filtered") and audit_allowed:
        # A change open to every signed-in user (a project, a template) is still recorded.
        authz.require(
            who,
            lambda p: Decision(True, Action.WRITE, "shared", label, "open to every signed-in user"),
            request=label,
        )
        return
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
