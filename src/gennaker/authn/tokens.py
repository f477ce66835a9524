"""API tokens: random secrets shown once; the database keeps their sha256 only."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker.store.schema import api_tokens as tok_t

#: Tokens start with this, so a leaked one is easy to recognise (and to grep for).
TOKEN_PREFIX = "gnk_"


@dataclass(frozen=True)
class ApiToken:
    """A token's record (never the secret itself)."""

    id: str
    user: str
    description: str | None
    created_at: int
    revoked_at: int | None

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None


def token_hash(secret: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _record(row: Any) -> ApiToken:
    return ApiToken(
        str(row.id),
        str(row.user),
        row.description,
        int(row.created_at),
        None if row.revoked_at is None else int(row.revoked_at),
    )


_COLUMNS = (tok_t.c.id, tok_t.c.user, tok_t.c.description, tok_t.c.created_at, tok_t.c.revoked_at)


class TokenRepository:
    """Creates, finds and revokes tokens inside the caller's transaction."""

    def create(
        self, conn: Connection, user: str, *, now_ms: int, description: str | None = None
    ) -> tuple[ApiToken, str]:
        """A new token for ``user``: its record and the secret (which is not stored)."""
        user = user.strip()
        if not user:
            raise ValueError("a token needs a user name")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(secrets.token_hex(6), user, description, now_ms, None)
        conn.execute(
            tok_t.insert().values(
                id=token.id,
                user=user,
                description=description,
                token_hash=token_hash(secret),
                created_at=now_ms,
                revoked_at=None,
            )
        )
        return token, secret

    def lookup(self, conn: Connection, secret: str) -> ApiToken | None:
        """The active token with this secret, or None."""
        row = conn.execute(
            sa.select(*_COLUMNS).where(tok_t.c.token_hash == token_hash(secret), tok_t.c.revoked_at.is_(None))
        ).first()
        return None if row is None else _record(row)

    def list(self, conn: Connection) -> list[ApiToken]:
        """Every token, oldest first, revoked ones included."""
        rows = conn.execute(sa.select(*_COLUMNS).order_by(tok_t.c.created_at, tok_t.c.id)).all()
        return [_record(r) for r in rows]

    def revoke(self, conn: Connection, token_id: str, *, now_ms: int) -> bool:
        """Revoke a token; False when no active token has this id."""
        result = conn.execute(
            tok_t.update()
            .where(tok_t.c.id == token_id, tok_t.c.revoked_at.is_(None))
            .values(revoked_at=now_ms)
        )
        return bool(result.rowcount)
