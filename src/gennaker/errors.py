"""Errors a user can cause, each mapped to one HTTP status by the API.

They carry a message that says what was wrong and where; ``InvalidInput`` also carries a list of
``FieldError`` with JSON paths (``$.stages[2].refId``) for validation failures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class GennakerError(Exception):
    """Base of user-facing errors; ``status`` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldError:
    """One problem at one place of a JSON document."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class InvalidInput(GennakerError):
    """The request or document is invalid (400)."""

    status = 400

    def __init__(self, message: str, errors: Sequence[FieldError] = ()) -> None:
        if errors and message == "":
            message = "; ".join(str(e) for e in errors)
        super().__init__(message)
        self.errors = tuple(errors)


class NotFound(GennakerError):
    """The thing named does not exist (404)."""

    status = 404


class Conflict(GennakerError):
    """The request conflicts with the current state (409): a stale revision, a duplicate name."""

    status = 409


class Forbidden(GennakerError):
    """The caller may not do this (403)."""

    status = 403
