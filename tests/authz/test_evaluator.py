"""Fiat's rules, decision by decision, with the rule each decision names."""

from __future__ import annotations

from gennaker.authz.cache import RoleCache
from gennaker.authz.evaluator import Evaluator
from gennaker.authz.model import Action, Principal
from gennaker.authz.settings import AuthzSettings
from gennaker.clock import FrozenClock
from gennaker.config import ServiceAccountConfig

SHOP = {"name": "shop", "permissions": {"READ": ["Viewers"], "WRITE": ["writers"]}}


def _evaluator(**settings: object) -> Evaluator:
    authz = AuthzSettings.model_validate({"admin_roles": ["admins"], **settings})
    cache = RoleCache([], FrozenClock(), ttl_seconds=30, stale_max_seconds=60)
    accounts = {"prod": {Action.WRITE: frozenset({"deployers"})}}
    return Evaluator(
        authz, cache, accounts, (ServiceAccountConfig(name="ci-bot", member_of=("runners", "viewers")),)
    )


def _who(*roles: str, admin: bool = False) -> Principal:
    return Principal("ann", frozenset(roles), admin=admin)


def test_roles_grant_the_actions_they_are_listed_for_ignoring_case() -> None:
    evaluator = _evaluator()
    assert evaluator.application(_who("viewers"), "SHOP", SHOP, Action.READ).rule == "role viewers holds READ"
    denied = evaluator.application(_who("viewers"), "shop", SHOP, Action.WRITE)
    assert not denied.allowed
    assert denied.message == (
        "WRITE permission on application 'shop' is required: WRITE is granted to writers; ann has roles: viewers"
    )


def test_execute_unlisted_falls_back_to_read_or_as_configured() -> None:
    fallback = _evaluator().application(_who("viewers"), "shop", SHOP, Action.EXECUTE)
    assert fallback.allowed and "falls back to READ" in fallback.rule
    assert (
        not _evaluator(execute_fallback="WRITE")
        .application(_who("viewers"), "shop", SHOP, Action.EXECUTE)
        .allowed
    )


def test_an_action_listed_for_no_role_is_for_nobody_but_admins() -> None:
    app = {"name": "shop", "permissions": {"READ": ["viewers"], "WRITE": []}}
    assert not _evaluator().application(_who("viewers"), "shop", app, Action.WRITE).allowed
    admin = _evaluator().application(_who("admins", admin=True), "shop", app, Action.WRITE)
    assert admin.allowed and admin.rule == "ann is an admin (role admins)"


def test_unconfigured_applications_are_open_unless_restricted() -> None:
    open_app = {"name": "open"}
    assert _evaluator().application(_who(), "open", open_app, Action.WRITE).allowed
    assert (
        not _evaluator(restrict_unconfigured_applications=True)
        .application(_who(), "open", open_app, Action.READ)
        .allowed
    )


def test_accounts_and_service_accounts() -> None:
    evaluator = _evaluator()
    assert evaluator.account(_who(), "local", Action.WRITE).allowed
    assert not evaluator.account(_who("viewers"), "prod", Action.WRITE).allowed
    assert evaluator.allowed_accounts(_who("deployers"), ["local", "prod"]) == ["local", "prod"]
    missing = evaluator.use_service_account(_who("viewers"), "ci-bot")
    assert not missing.allowed and missing.rule.endswith("missing runners")
    assert evaluator.use_service_account(_who("runners", "viewers", "more"), "CI-BOT").allowed
