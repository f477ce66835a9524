"""Roles written in gennaker.toml: ``[[auth.users]] roles`` and ``[[auth.service_accounts]] member_of``."""

from __future__ import annotations

from gennaker.config import AuthSettings


class ConfigFileRoles:
    """Roles of local users and service accounts, as configured."""

    name = "config"

    def __init__(self, auth: AuthSettings) -> None:
        self._roles: dict[str, frozenset[str]] = {}
        for user in auth.users:
            self._roles[user.name.lower()] = frozenset(r.strip().lower() for r in user.roles if r.strip())
        for account in auth.service_accounts:
            self._roles[account.name.lower()] = frozenset(
                r.strip().lower() for r in account.member_of if r.strip()
            )

    def roles_for(self, user: str) -> frozenset[str]:
        """The configured roles (none for a user the file does not list)."""
        return self._roles.get(user.lower(), frozenset())
