"""The authorization service the composition root builds (``Services.authz``): principals, decisions
that load what they decide about, refusals that raise Forbidden and are audited, and the port the
engine and the stages call (``engine.ports.AccessControl``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gennaker.authz.accounts import account_permissions
from gennaker.authz.audit import audit
from gennaker.authz.cache import RoleCache
from gennaker.authz.evaluator import Evaluator
from gennaker.authz.model import Action, Decision, Principal
from gennaker.authz.oidc import OidcClient
from gennaker.authz.roles.config_file import ConfigFileRoles
from gennaker.authz.roles.ldap import LdapRoles
from gennaker.authz.roles.protocol import RoleProvider
from gennaker.authz.roles.stored import StoredRoles
from gennaker.authz.settings import AuthzSettings, authz_enabled, authz_settings
from gennaker.clock import Clock
from gennaker.config import Settings
from gennaker.db import Database
from gennaker.errors import Forbidden
from gennaker.store.applications import ApplicationRepository

#: Trigger types a person starts; every other type is automated and runs as its ``runAsUser``.
MANUAL_TRIGGERS = frozenset({"manual", ""})


class Authorization:
    """Fiat in-process."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        clock: Clock,
        applications: ApplicationRepository,
        account_names: Callable[[], list[str]],
    ) -> None:
        self.settings: AuthzSettings = authz_settings(settings)
        self.enabled = authz_enabled(settings, self.settings)
        self.db = db
        self.clock = clock
        self.applications = applications
        self.account_names = account_names
        providers: list[RoleProvider] = [ConfigFileRoles(settings.auth)]
        self.ldap = LdapRoles(self.settings.ldap) if self.settings.ldap is not None else None
        if self.ldap is not None:
            providers.append(self.ldap)
        self.oidc = OidcClient(self.settings.oidc) if self.settings.oidc is not None else None
        self.oidc_roles = StoredRoles(db, clock, "oidc") if self.settings.oidc is not None else None
        if self.oidc_roles is not None:
            providers.append(self.oidc_roles)
        self.cache = RoleCache(
            providers,
            clock,
            ttl_seconds=self.settings.role_cache_ttl_seconds,
            stale_max_seconds=self.settings.stale_roles_max_seconds,
            size=self.settings.role_cache_size,
        )
        self.evaluator = Evaluator(
            self.settings, self.cache, account_permissions(settings.providers), settings.auth.service_accounts
        )

    # -- principals and decisions --

    def principal(self, user: str | None) -> Principal | None:
        """The principal of a signed-in user; None when authorization is off or nobody signed in."""
        if not self.enabled or user is None:
            return None
        return self.evaluator.principal(user)

    def application_document(self, name: str) -> dict[str, Any] | None:
        """The stored application, or None."""
        with self.db.read() as conn:
            return self.applications.find(conn, name)

    def application(self, who: Principal, name: str, action: Action) -> Decision:
        """A decision on an application, loading it."""
        return self.evaluator.application(who, name, self.application_document(name), action)

    def can_read(self, who: Principal | None, name: str | None, cache: dict[str, bool] | None = None) -> bool:
        """Whether ``who`` may READ the application (always with authorization off); ``cache``
        remembers answers across the items of one list."""
        if who is None or not name:
            return True
        key = name.lower()
        if cache is not None and key in cache:
            return cache[key]
        allowed = self.application(who, key, Action.READ).allowed
        if cache is not None:
            cache[key] = allowed
        return allowed

    def require(
        self,
        who: Principal | None,
        decision: Callable[[Principal], Decision],
        *,
        request: str | None = None,
        audit_allowed: bool = True,
        application: str | None = None,
        execution_id: str | None = None,
    ) -> Decision | None:
        """Raise Forbidden (audited) unless the decision allows; audit allowed ones when asked."""
        if who is None:
            return None
        made = decision(who)
        if not made.allowed or audit_allowed:
            audit(
                self.db,
                self.clock,
                who,
                made,
                request=request,
                application=application,
                execution_id=execution_id,
            )
        if not made.allowed:
            raise Forbidden(f"{who.name} may not do this: {made.message}")
        return made

    # -- the engine's port (engine.ports.AccessControl) --

    def allowed_accounts(self, user: str | None) -> list[str]:
        """Accounts the user may WRITE (``authentication.allowedAccounts``); [] with authorization off."""
        who = self.principal(user)
        if who is None:
            return []
        return self.evaluator.allowed_accounts(who, self.account_names())

    def account_refusal(self, authentication: Mapping[str, Any], account: str) -> str | None:
        """Why the execution's user may not WRITE the account (None: it may)."""
        user = authentication.get("user") if isinstance(authentication, Mapping) else None
        who = self.principal(str(user) if user else None)
        if who is None:
            if not self.enabled:
                return None
            return f"WRITE permission on account {account!r} is required and the execution names no user"
        made = self.evaluator.account(who, account, Action.WRITE)
        if made.allowed:
            return None
        return f"{who.name} may not deploy: {made.message}"

    def trigger_refusal(self, application: str, trigger: Mapping[str, Any]) -> str | None:
        """Why an automated trigger may not start its pipeline: it must name a configured service
        account (``runAsUser``) whose roles hold EXECUTE on the application. None: it may."""
        if not self.enabled:
            return None
        run_as = trigger.get("runAsUser")
        kind = str(trigger.get("type") or "")
        if not run_as:
            # No service account: it runs as nobody in particular, which Fiat allows only for
            # applications open to every signed-in user.
            document = self.application_document(application)
            anonymous = Principal(name="[anonymous]")
            made = self.evaluator.application(anonymous, application, document, Action.EXECUTE)
            if made.allowed:
                return None
            return f"the {kind or 'automated'} trigger names no runAsUser service account, and {made.message}"
        if self.evaluator.service_account(str(run_as)) is None:
            return f"runAsUser {run_as!r} is not a configured service account ([[auth.service_accounts]])"
        who = self.evaluator.principal(str(run_as))
        made = self.application(who, application, Action.EXECUTE)
        if made.allowed:
            return None
        return f"service account {run_as!r} may not run it: {made.message}"

    def health(self) -> dict[str, Any]:
        """What /health shows: enabled, and each role provider's state."""
        return {"enabled": self.enabled, "roleProviders": self.cache.status()}
