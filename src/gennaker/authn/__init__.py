"""Authentication of API callers: API tokens (``Authorization: Bearer``) and local users (HTTP Basic)."""
