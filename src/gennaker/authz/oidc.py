"""OpenID Connect sign-in: the authorization code flow with PKCE (RFC 7636, S256).

``begin`` makes the provider's authorization URL and the state to keep in the browser (a cookie);
``finish`` checks the returned ``state``, exchanges the code (with the PKCE verifier) at the token
endpoint, verifies the ID token's signature against the provider's JWKS and its ``iss``, ``aud``,
``exp`` and ``nonce``, and reads the user name and roles from the configured claims (the ID token's,
else the userinfo endpoint's).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from gennaker.authz.settings import OidcSettings


class OidcError(Exception):
    """Sign-in through the provider failed; the message says at which step and why."""


@dataclass(frozen=True)
class Pending:
    """What the browser keeps between leaving for the provider and coming back."""

    state: str
    verifier: str
    nonce: str
    next: str

    def encode(self) -> str:
        """The cookie value."""
        return ".".join(
            [self.state, self.verifier, self.nonce, base64.urlsafe_b64encode(self.next.encode()).decode()]
        )

    @classmethod
    def decode(cls, value: str) -> Pending:
        """From the cookie value; OidcError when it is not one."""
        parts = value.split(".")
        if len(parts) != 4:
            raise OidcError("the sign-in was not started here (no state cookie); start again")
        try:
            nxt = base64.urlsafe_b64decode(parts[3].encode()).decode()
        except (ValueError, UnicodeDecodeError):
            raise OidcError("the sign-in state cookie is damaged; start again") from None
        return cls(parts[0], parts[1], parts[2], nxt)


@dataclass(frozen=True)
class SignedIn:
    """Who signed in, with the roles the provider named."""

    user: str
    roles: frozenset[str]
    claims: dict[str, Any]


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcClient:
    """One relying party registration at one provider."""

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self._discovery: dict[str, Any] | None = None

    def _http(self) -> httpx.Client:
        verify: Any = str(self.settings.ca_file) if self.settings.ca_file else True
        return httpx.Client(timeout=self.settings.timeout_seconds, verify=verify)

    def discovery(self) -> dict[str, Any]:
        """The provider's metadata (read once)."""
        if self._discovery is None:
            url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
            try:
                with self._http() as http:
                    response = http.get(url)
                response.raise_for_status()
                found = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise OidcError(f"the OpenID provider's metadata ({url}) cannot be read: {exc}") from None
            if (
                not isinstance(found, dict)
                or "authorization_endpoint" not in found
                or "token_endpoint" not in found
            ):
                raise OidcError(f"{url} is not OpenID provider metadata")
            self._discovery = found
        return self._discovery

    def begin(self, redirect_uri: str, next_path: str) -> tuple[str, Pending]:
        """The URL to send the browser to, and what to keep until it comes back."""
        meta = self.discovery()
        pending = Pending(
            secrets.token_urlsafe(24), secrets.token_urlsafe(48), secrets.token_urlsafe(24), next_path
        )
        query = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self.settings.scopes),
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": _challenge(pending.verifier),
            "code_challenge_method": "S256",
        }
        return f"{meta['authorization_endpoint']}?{urlencode(query)}", pending

    def finish(self, code: str, state: str, pending: Pending, redirect_uri: str) -> SignedIn:
        """Exchange the code and verify the ID token."""
        if not secrets.compare_digest(state, pending.state):
            raise OidcError("the provider answered for another sign-in (state does not match); start again")
        meta = self.discovery()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": pending.verifier,
            "client_id": self.settings.client_id,
        }
        auth: Any = (
            (self.settings.client_id, self.settings.client_secret) if self.settings.client_secret else None
        )
        try:
            with self._http() as http:
                response = http.post(str(meta["token_endpoint"]), data=form, auth=auth)
                if response.status_code != 200:
                    raise OidcError(
                        f"the token endpoint refused the code: {response.status_code} {response.text[:300]}"
                    )
                tokens = response.json()
                jwks = http.get(str(meta["jwks_uri"])).json()
                claims = self._verify(str(tokens.get("id_token") or ""), jwks, pending.nonce)
                if (
                    self.settings.roles_claim not in claims
                    and meta.get("userinfo_endpoint")
                    and tokens.get("access_token")
                ):
                    info = http.get(
                        str(meta["userinfo_endpoint"]),
                        headers={"Authorization": f"Bearer {tokens['access_token']}"},
                    ).json()
                    if isinstance(info, dict) and info.get("sub") == claims.get("sub"):
                        claims = {**info, **claims}
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise OidcError(f"the OpenID provider could not be reached or answered nonsense: {exc}") from None
        user = claims.get(self.settings.username_claim) or claims.get("sub")
        if not isinstance(user, str) or not user:
            raise OidcError(f"the ID token has no {self.settings.username_claim!r} claim")
        raw = claims.get(self.settings.roles_claim) or []
        if isinstance(raw, str):
            raw = [raw]
        roles = frozenset(str(r).strip().lower() for r in raw if isinstance(r, str) and r.strip())
        return SignedIn(user, roles, claims)

    def _verify(self, id_token: str, jwks: Any, nonce: str) -> dict[str, Any]:
        from joserfc import jwt
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        if not id_token:
            raise OidcError("the token endpoint returned no id_token")
        try:
            keys = KeySet.import_key_set(jwks)
            token = jwt.decode(id_token, keys, algorithms=["RS256", "PS256", "ES256", "EdDSA"])
            registry = jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.settings.issuer},
                aud={"essential": True, "value": self.settings.client_id},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise OidcError(f"the ID token does not verify: {exc}") from None
        return dict(token.claims)
