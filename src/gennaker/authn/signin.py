"""Checking a user name and password: a local user's PBKDF2 hash, else (when ``[authz.ldap]`` is
configured with ``authenticate``) a bind to the directory as that user. Used by HTTP Basic, the
UI's form and Gate's ``POST /login``; a session started this way is an API token."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gennaker.authn.sign_in import PasswordSignIn
from gennaker.authn.tokens import TokenRepository
from gennaker.authz.roles.ldap import LdapSignInFailed
from gennaker.authz.roles.protocol import RoleProviderDown

if TYPE_CHECKING:
    from gennaker.services import Services

SESSION_DESCRIPTION = "web session"


class SignInUnavailable(Exception):
    """The directory that would check the password cannot be reached; the message says so."""


def ldap_verify(services: Services, name: str, password: str) -> bool:
    """Whether the directory accepts the password (False when LDAP sign-in is not configured);
    SignInUnavailable when it cannot answer."""
    ldap = services.authz.ldap
    if ldap is None or not ldap.settings.authenticate or not name:
        return False
    try:
        ldap.sign_in(name, password)
    except LdapSignInFailed:
        return False
    except RoleProviderDown as exc:
        raise SignInUnavailable(f"sign-in through LDAP is not possible now: {exc}") from None
    services.authz.cache.invalidate(name)  # a fresh sign-in reads the groups again
    return True

    try:
        if ldap_verify(services, name, password):
            return True, ""
    except SignInUnavailable as exc:
        return False, str(exc)
    return False, "Wrong user name or password."


def start_session(services: Services, name: str) -> str:
    """A new session token for the user (revoked by signing out)."""
    with services.db.transaction() as conn:
        _, secret = TokenRepository().create(
            conn, name, now_ms=services.clock.now_ms(), description=SESSION_DESCRIPTION
        )
    return secret


def end_session(services: Services, secret: str | None) -> None:
    """Revoke a session token (tokens made by hand are left alone)."""
    if not secret:
        return
    tokens = TokenRepository()
    with services.db.transaction() as conn:
        found = tokens.lookup(conn, secret)
        if found is not None and found.description == SESSION_DESCRIPTION:
            tokens.revoke(conn, found.id, now_ms=services.clock.now_ms())


def password_sign_in(services: Services) -> PasswordSignIn:
    """The password check of this API process: local users, then the directory when
    ``[authz.ldap] authenticate`` is set, under one throttle (HTTP Basic, the UI's form, Gate's
    ``POST /login``)."""
    ldap = services.authz.ldap
    directory = None
    if ldap is not None and ldap.settings.authenticate:

        def directory(name: str, password: str) -> bool:
            return ldap_verify(services, name, password)

    return PasswordSignIn(services.settings.auth, services.clock, directory)
