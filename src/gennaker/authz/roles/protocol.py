"""What a role provider is: it names the roles of a user, or says it is down."""

from __future__ import annotations

from typing import Protocol


class RoleProviderDown(Exception):
    """The provider cannot answer now (unreachable, timed out, refused our bind); the message says why."""


class RoleProvider(Protocol):
    """A source of roles (Fiat's ``UserRolesProvider``)."""

    #: Short name shown in /health and in decisions (``config``, ``ldap``, ``oidc``).
    name: str

    def roles_for(self, user: str) -> frozenset[str]:
        """The user's roles, lower-case (empty when the provider does not know the user);
        RoleProviderDown when it cannot answer."""
        ...
