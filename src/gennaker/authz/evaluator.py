"""Fiat's permission evaluation: a principal's roles against an application's or an account's
``permissions``, admins bypassing, with the rule that decided written into the decision.

Rules relied on (docs/authorization.md has the sources):
- an application without permissions is open to every signed-in user, unless
  ``authz.restrict_unconfigured_applications`` (then only admins);
- an application with permissions grants an action to the roles listed for it, and to nobody else
  when it lists none; EXECUTE unlisted falls back to ``authz.execute_fallback`` (READ);
- an account without permissions is open to everyone; with permissions, as for applications;
- a user may use a service account when they hold every one of its ``member_of`` roles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gennaker.authz.cache import RoleCache
from gennaker.authz.model import Action, Decision, Permissions, Principal, parse_permissions, restricted
from gennaker.authz.settings import AuthzSettings
from gennaker.config import ServiceAccountConfig
from gennaker.errors import InvalidInput

APPLICATION = "application"
ACCOUNT = "account"
SERVICE_ACCOUNT = "service account"


class Evaluator:
    """Decides, and explains."""

    def __init__(
        self,
        settings: AuthzSettings,
        cache: RoleCache,
        accounts: Mapping[str, Permissions],
        service_accounts: tuple[ServiceAccountConfig, ...],
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.accounts = dict(accounts)
        self.admin_roles = frozenset(r.lower() for r in settings.admin_roles)
        self.create_roles = frozenset(r.lower() for r in settings.create_roles)
        self.service_accounts = {s.name.lower(): s for s in service_accounts}

    def principal(self, name: str) -> Principal:
        """Who ``name`` is: its roles (from the cache) and whether it is an admin or a service account."""
        found = self.cache.roles(name)
        return Principal(
            name=name,
            roles=found.roles,
            admin=bool(found.roles & self.admin_roles),
            service_account=name.lower() in self.service_accounts,
            sources=found.sources,
        )

    def _admin(self, who: Principal, action: Action, kind: str, resource: str) -> Decision | None:
        if not who.admin:
            return None
        roles = tuple(sorted(who.roles & self.admin_roles))
        return Decision(
            True, action, kind, resource, f"{who.name} is an admin (role {', '.join(roles)})", roles
        )

    def _granted(
        self,
        who: Principal,
        action: Action,
        kind: str,
        resource: str,
        permissions: Permissions,
        wanted: Action,
    ) -> Decision:
        roles = permissions.get(wanted, frozenset())
        via = "" if wanted == action else f" (no EXECUTE listed: falls back to {wanted.value})"
        matched = tuple(sorted(roles & who.roles))
        if matched:
            return Decision(
                True, action, kind, resource, f"role {', '.join(matched)} holds {wanted.value}{via}", matched
            )
        if not roles:
            return Decision(
                False, action, kind, resource, f"its permissions grant {wanted.value} to no role{via}"
            )
        mine = ", ".join(sorted(who.roles)) or "none"
        return Decision(
            False,
            action,
            kind,
            resource,
            f"{wanted.value} is granted to {', '.join(sorted(roles))}{via}; {who.name} has roles: {mine}",
        )

    def application(
        self, who: Principal, name: str, document: Mapping[str, Any] | None, action: Action
    ) -> Decision:
        """May ``who`` do ``action`` on the application (``document`` None: it does not exist)."""
        name = name.lower()
        admin = self._admin(who, action, APPLICATION, name)
        if admin is not None:
            return admin
        if action is Action.CREATE and document is None:
            if not self.create_roles:
                return Decision(True, action, APPLICATION, name, "any signed-in user may create applications")
            matched = tuple(sorted(self.create_roles & who.roles))
            if matched:
                return Decision(
                    True,
                    action,
                    APPLICATION,
                    name,
                    f"role {', '.join(matched)} may create applications",
                    matched,
                )
            return Decision(
                False,
                action,
                APPLICATION,
                name,
                f"authz.create_roles ({', '.join(sorted(self.create_roles))}) may create applications",
            )
        try:
            permissions = parse_permissions((document or {}).get("permissions"))
        except InvalidInput:
            permissions = {}
            if not self.settings.restrict_unconfigured_applications:
                return Decision(
                    False,
                    action,
                    APPLICATION,
                    name,
                    "its stored permissions cannot be read; only admins may act",
                )
        if not restricted(permissions):
            if self.settings.restrict_unconfigured_applications:
                return Decision(
                    False,
                    action,
                    APPLICATION,
                    name,
                    "it has no permissions and authz.restrict_unconfigured_applications is on (admins only)",
                )
            why = "it does not exist" if document is None else "it has no permissions"
            return Decision(True, action, APPLICATION, name, f"{why}: open to every signed-in user")
        wanted = action
        if action is Action.EXECUTE and Action.EXECUTE not in permissions:
            wanted = Action(self.settings.execute_fallback)
        if action is Action.CREATE:
            wanted = Action.WRITE  # creating what exists is writing it
        return self._granted(who, action, APPLICATION, name, permissions, wanted)

    def account(self, who: Principal, name: str, action: Action) -> Decision:
        """May ``who`` do ``action`` on the account."""
        admin = self._admin(who, action, ACCOUNT, name)
        if admin is not None:
            return admin
        permissions = self.accounts.get(name.lower(), {})
        if not restricted(permissions):
            return Decision(True, action, ACCOUNT, name, "it has no permissions: open to everyone")
        return self._granted(who, action, ACCOUNT, name, permissions, action)

    def allowed_accounts(self, who: Principal, names: list[str]) -> list[str]:
        """Of ``names``, the accounts ``who`` may WRITE (Orca's ``authentication.allowedAccounts``)."""
        return sorted(n for n in names if self.account(who, n, Action.WRITE).allowed)

    def service_account(self, name: str) -> ServiceAccountConfig | None:
        """The configured service account of this name."""
        return self.service_accounts.get(name.lower())

    def use_service_account(self, who: Principal, name: str) -> Decision:
        """May ``who`` name this service account as a trigger's ``runAsUser`` (holds all its roles)."""
        account = self.service_account(name)
        admin = self._admin(who, Action.WRITE, SERVICE_ACCOUNT, name)
        if account is None:
            return Decision(
                False,
                Action.WRITE,
                SERVICE_ACCOUNT,
                name,
                "no such service account is configured ([[auth.service_accounts]])",
            )
        if admin is not None:
            return admin
        if who.name.lower() == account.name.lower():
            return Decision(True, Action.WRITE, SERVICE_ACCOUNT, name, "it is the service account itself")
        needed = frozenset(r.lower() for r in account.member_of)
        missing = sorted(needed - who.roles)
        if missing:
            return Decision(
                False,
                Action.WRITE,
                SERVICE_ACCOUNT,
                name,
                f"{who.name} must hold every role of it; missing {', '.join(missing)}",
            )
        return Decision(
            True,
            Action.WRITE,
            SERVICE_ACCOUNT,
            name,
            f"{who.name} holds every role of it",
            tuple(sorted(needed)),
        )
