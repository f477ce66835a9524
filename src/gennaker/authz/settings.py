"""The ``[authz]`` section: admin roles, how unconfigured applications are treated, the role cache,
and the LDAP and OpenID Connect role providers (``[authz.ldap]``, ``[authz.oidc]``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gennaker.config import ConfigError, Settings


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LdapSettings(_Section):
    """Group membership from a directory (Fiat's ``auth.group-membership.ldap``), and sign-in by
    binding as the user (Gate's ``ldap`` authentication)."""

    #: ``ldap://host:389`` or ``ldaps://host:636``.
    url: str
    #: The identity that searches (manager DN); empty for an anonymous search.
    bind_dn: str = ""
    bind_password: str = ""
    #: Fiat's ``userDnPattern``: ``uid={0},ou=people,dc=example,dc=org`` ({0} is the user name).
    user_dn_pattern: str = ""
    #: Or find the user: ``user_search_base`` + ``user_search_filter`` (``(uid={0})``).
    user_search_base: str = ""
    user_search_filter: str = "(uid={0})"
    #: Where groups are, which of them the user is in (``{0}`` the user's DN, ``{1}`` the name).
    group_search_base: str
    group_search_filter: str = "(uniqueMember={0})"
    #: The attribute of a group that is the role's name.
    group_role_attribute: str = "cn"
    #: Upgrade ``ldap://`` with StartTLS; verify the server's certificate against ``ca_file``.
    start_tls: bool = False
    ca_file: Path | None = None
    verify_certificates: bool = True
    timeout_seconds: float = Field(default=5.0, gt=0)
    #: HTTP Basic sign-in of a user who is not in ``[[auth.users]]`` binds as that user.
    authenticate: bool = True

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if not value.startswith(("ldap://", "ldaps://")):
            raise ValueError("must start with ldap:// or ldaps://")
        return value


class OidcSettings(_Section):
    """Sign-in with an OpenID Connect provider (authorization code flow with PKCE)."""

    #: The issuer; its ``/.well-known/openid-configuration`` is read at the first sign-in.
    issuer: str
    client_id: str
    client_secret: str = ""
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    #: The claim (of the ID token, else of the userinfo answer) that lists the user's roles.
    roles_claim: str = "groups"
    #: The claim that is the user's name.
    username_claim: str = "preferred_username"
    #: Where the provider sends the browser back; default ``<server.public_url>/login/oidc/callback``.
    redirect_url: str | None = None
    ca_file: Path | None = None
    timeout_seconds: float = Field(default=10.0, gt=0)


class AuthzSettings(_Section):
    """Fiat's settings that Gennaker reads."""

    #: Default: on whenever authentication is on.
    enabled: bool | None = None
    #: Roles whose members see and do everything (Fiat's ``fiat.admin.roles``).
    admin_roles: tuple[str, ...] = ()
    #: Applications without permissions are open to every signed-in user (Fiat's default) unless this is on.
    restrict_unconfigured_applications: bool = False
    #: Who may EXECUTE when an application's permissions name no EXECUTE (Fiat's ``executeFallback``).
    execute_fallback: Literal["READ", "WRITE"] = "READ"
    #: Roles that may create applications (Fiat's CREATE); empty: every signed-in user.
    create_roles: tuple[str, ...] = ()
    #: How long a user's roles are used before they are asked for again (refreshed in the background).
    role_cache_ttl_seconds: float = Field(default=30.0, gt=0)
    #: How long the last known roles stand in for a role provider that is down.
    stale_roles_max_seconds: float = Field(default=600.0, ge=0)
    #: Users whose roles are kept in the cache at most (least recently used leave first).
    role_cache_size: int = Field(default=10_000, ge=1)
    ldap: LdapSettings | None = None
    oidc: OidcSettings | None = None


def authz_settings(settings: Settings) -> AuthzSettings:
    """The validated ``[authz]`` section; ConfigError naming the bad setting."""
    try:
        return AuthzSettings.model_validate(dict(settings.authz))
    except ValidationError as exc:
        problems = [f"  authz.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("invalid [authz] settings:\n" + "\n".join(problems)) from None


def authz_enabled(settings: Settings, authz: AuthzSettings) -> bool:
    """Whether permissions are enforced (never without authentication: there is nobody to check)."""
    return settings.auth.enabled and (authz.enabled is None or authz.enabled)
