"""Fiat's nouns: actions (``Authorization``), permission maps, the principal a request acts as, and
a decision that says why."""

from __future__ import annotations

from dataclasses import dataclass, field

from gennaker.model.permissions import (
    ACCOUNT_ACTIONS,
    APPLICATION_ACTIONS,
    Action,
    Permissions,
    parse_permissions,
    restricted,
)

__all__ = [
    "ACCOUNT_ACTIONS",
    "APPLICATION_ACTIONS",
    "Action",
    "Decision",
    "Permissions",
    "Principal",
    "parse_permissions",
    "restricted",
]


@dataclass(frozen=True)
class Principal:
    """Who a request or an execution acts as: a user or a service account, with its roles."""

    name: str
    roles: frozenset[str] = frozenset()
    admin: bool = False
    service_account: bool = False
    #: Where the roles came from (``config``, ``ldap``, ``oidc``; ``stale:ldap`` when a provider is
    #: down and its last known roles are used).
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    """The answer to "may P do ACTION on RESOURCE", with the rule that decided it."""

    allowed: bool
    action: Action
    resource_type: str
    resource: str
    rule: str
    matched_roles: tuple[str, ...] = field(default=())

    @property
    def message(self) -> str:
        """The 403 message: the permission, the resource and why."""
        return f"{self.action.value} permission on {self.resource_type} {self.resource!r} is required: {self.rule}"
