"""Password hashes for local users: ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>``."""

from __future__ import annotations

import hashlib
import hmac
import secrets

DEFAULT_ITERATIONS = 600_000
PREFIX = "pbkdf2_sha256"


class BadHash(ValueError):
    """A stored password hash is not in the expected format."""


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """Hash ``password`` with PBKDF2-HMAC-SHA256 and a random 16-byte salt."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{PREFIX}${iterations}${salt.hex()}${digest.hex()}"


def parse_hash(encoded: str) -> tuple[int, bytes, bytes]:
    """(iterations, salt, digest) of an encoded hash; BadHash when it is malformed."""
    parts = encoded.split("$")
    if len(parts) != 4 or parts[0] != PREFIX:
        raise BadHash(f"a password hash must look like {PREFIX}$<iterations>$<salt hex>$<hash hex>")
    try:
        iterations = int(parts[1])
        salt, digest = bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
    except ValueError:
        raise BadHash("the iterations must be a number and the salt and hash hexadecimal") from None
    if iterations < 1 or not digest:
        raise BadHash("the iterations must be positive and the hash non-empty")
    return iterations, salt, digest


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded`` (False, not an error, for a malformed hash)."""
    try:
        iterations, salt, expected = parse_hash(encoded)
    except BadHash:
        return False
    actual = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, dklen=len(expected))
    return hmac.compare_digest(actual, expected)
