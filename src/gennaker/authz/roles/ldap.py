"""Roles from an LDAP directory (Fiat's LdapUserRolesProvider) and sign-in by binding as the user.

The user's DN comes from ``user_dn_pattern`` or from a search (``user_search_base`` +
``user_search_filter``); the roles are the ``group_role_attribute`` of the groups that
``group_search_filter`` finds under ``group_search_base``. Talks to the server with ldap3 (pure
Python), over ``ldaps://`` or StartTLS when configured, with a timeout on connecting and on every
operation so a hung directory cannot hold a request.
"""

from __future__ import annotations

import math
import ssl
from typing import Any

from gennaker.authz.roles.protocol import RoleProviderDown
from gennaker.authz.settings import LdapSettings


class LdapSignInFailed(Exception):
    """The directory refused the user's credentials (wrong password, unknown user)."""


def _escape(value: str) -> str:
    """RFC 4515 escaping of a value put into a search filter."""
    out = []
    for char in value:
        if char in "\\*()\x00":
            out.append(f"\\{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def _escape_dn(value: str) -> str:
    """RFC 4514 escaping of a value put into a DN."""
    special = ',+"\\<>;='
    out = "".join(f"\\{c}" if c in special else c for c in value)
    if out.startswith((" ", "#")):
        out = "\\" + out
    if out.endswith(" "):
        out = out[:-1] + "\\ "
    return out


def _close(conn: Any) -> None:
    """Unbind and close the socket, whatever state the connection is in."""
    if conn is None:
        return
    try:
        conn.unbind()
    except Exception:
        pass
    sock = getattr(conn, "socket", None)
    if sock is not None:
        try:
            sock.close()
        except OSError:
            pass


class LdapRoles:
    """Group membership from a directory."""

    name = "ldap"

    def __init__(self, settings: LdapSettings) -> None:
        self.settings = settings

    def _server(self) -> Any:
        import ldap3

        tls = None
        if self.settings.url.startswith("ldaps://") or self.settings.start_tls:
            tls = ldap3.Tls(
                validate=ssl.CERT_REQUIRED if self.settings.verify_certificates else ssl.CERT_NONE,
                ca_certs_file=str(self.settings.ca_file) if self.settings.ca_file else None,
            )
        return ldap3.Server(self.settings.url, tls=tls, connect_timeout=self.settings.timeout_seconds)

    def _connect(self, user: str | None, password: str | None) -> Any:
        """A bound connection; LdapSignInFailed when the bind is refused, RoleProviderDown when the
        server cannot be reached or answers nothing in time."""
        import ldap3
        from ldap3.core import exceptions as lx

        conn: Any = None
        try:
            conn = ldap3.Connection(
                self._server(),
                user=user or None,
                password=password or None,
                receive_timeout=max(1, math.ceil(self.settings.timeout_seconds)),  # ldap3 needs whole seconds
                raise_exceptions=False,
                read_only=True,
                auto_bind=ldap3.AUTO_BIND_NONE,
            )
            conn.open()
            if self.settings.start_tls and self.settings.url.startswith("ldap://"):
                if not conn.start_tls():
                    _close(conn)
                    raise RoleProviderDown(f"LDAP server {self.settings.url} refused StartTLS: {conn.result}")
            if not conn.bind():
                result = conn.result or {}
                description = result.get("description") or "bind refused"
                _close(conn)
                raise LdapSignInFailed(
                    f"LDAP server {self.settings.url} refused the bind as {user!r}: {description}"
                )
            return conn
        except lx.LDAPSocketReceiveError as exc:
            _close(conn)
            raise RoleProviderDown(
                f"LDAP server {self.settings.url} did not answer in time ({exc})"
            ) from None
        except (lx.LDAPException, OSError) as exc:
            _close(conn)
            raise RoleProviderDown(f"LDAP server {self.settings.url} is unreachable: {exc}") from None

    def _manager(self) -> Any:
        try:
            return self._connect(self.settings.bind_dn or None, self.settings.bind_password or None)
        except LdapSignInFailed as exc:
            # The manager's own credentials are refused: a configuration problem, not the user's.
            raise RoleProviderDown(str(exc)) from None

    def _user_dn(self, conn: Any, user: str) -> str | None:
        if self.settings.user_dn_pattern:
            return self.settings.user_dn_pattern.replace("{0}", _escape_dn(user))
        if not self.settings.user_search_base:
            return None
        conn.search(
            self.settings.user_search_base,
            self.settings.user_search_filter.replace("{0}", _escape(user)),
            attributes=[],
            size_limit=2,
            time_limit=int(self.settings.timeout_seconds) or 1,
        )
        self._check(conn)
        entries = list(conn.response or [])
        dns = [e.get("dn") for e in entries if e.get("type") == "searchResEntry"]
        return str(dns[0]) if len(dns) == 1 else None

    def _check(self, conn: Any) -> None:
        result = conn.result or {}
        code = result.get("result", 0)
        if code not in (0, 4, 32):  # success, size limit exceeded, no such object
            raise RoleProviderDown(
                f"LDAP search failed: {result.get('description')} {result.get('message', '')}".strip()
            )

    def roles_for(self, user: str) -> frozenset[str]:
        """The roles of the groups the user is a member of."""
        conn = self._manager()
        try:
            dn = self._user_dn(conn, user)
            if dn is None:
                return frozenset()
            query = self.settings.group_search_filter.replace("{0}", _escape(dn)).replace(
                "{1}", _escape(user)
            )
            attribute = self.settings.group_role_attribute
            conn.search(
                self.settings.group_search_base,
                query,
                attributes=[attribute],
                time_limit=int(self.settings.timeout_seconds) or 1,
            )
            self._check(conn)
            roles: set[str] = set()
            for entry in conn.response or []:
                if entry.get("type") != "searchResEntry":
                    continue
                values = (entry.get("attributes") or {}).get(attribute) or []
                for value in values if isinstance(values, list) else [values]:
                    if str(value).strip():
                        roles.add(str(value).strip().lower())
            return frozenset(roles)
        except RoleProviderDown:
            raise
        except Exception as exc:  # ldap3 raises its own types mid-operation (a dropped socket)
            raise RoleProviderDown(f"LDAP server {self.settings.url} failed: {exc}") from None
        finally:
            _close(conn)

    def sign_in(self, user: str, password: str) -> None:
        """Bind as the user; LdapSignInFailed for refused credentials, RoleProviderDown otherwise."""
        if not password:
            raise LdapSignInFailed("an empty password cannot sign in to LDAP")
        if self.settings.user_dn_pattern:
            dn = self.settings.user_dn_pattern.replace("{0}", _escape_dn(user))
        else:
            manager = self._manager()
            try:
                found = self._user_dn(manager, user)
            finally:
                _close(manager)
            if found is None:
                raise LdapSignInFailed(f"no LDAP user {user!r}")
            dn = found
        _close(self._connect(dn, password))
