"""Spinnaker's twelve execution statuses and their flags (orca-api ExecutionStatus.java)."""

from __future__ import annotations

from enum import StrEnum


class ExecutionStatus(StrEnum):
    """Status of an execution, stage or task; serialised by name, equal to its name as a string."""

    NOT_STARTED = "NOT_STARTED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    SUSPENDED = "SUSPENDED"
    SUCCEEDED = "SUCCEEDED"
    FAILED_CONTINUE = "FAILED_CONTINUE"
    TERMINAL = "TERMINAL"
    CANCELED = "CANCELED"
    REDIRECT = "REDIRECT"
    STOPPED = "STOPPED"
    SKIPPED = "SKIPPED"
    BUFFERED = "BUFFERED"

    def __str__(self) -> str:
        return self.value

    @property
    def is_complete(self) -> bool:
        """The work is over (successfully or not)."""
        return self in _COMPLETE

    @property
    def is_halt(self) -> bool:
        """The status stops the branch it is on."""
        return self in _HALT

    @property
    def is_successful(self) -> bool:
        """Counts as success for what comes after (STOPPED counts as both success and failure)."""
        return self in _SUCCESSFUL

    @property
    def is_failure(self) -> bool:
        """Counts as a failure."""
        return self in _FAILURE


_COMPLETE = frozenset(
    {
        ExecutionStatus.SUCCEEDED,
        ExecutionStatus.FAILED_CONTINUE,
        ExecutionStatus.TERMINAL,
        ExecutionStatus.CANCELED,
        ExecutionStatus.STOPPED,
        ExecutionStatus.SKIPPED,
    }
)
_HALT = frozenset({ExecutionStatus.TERMINAL, ExecutionStatus.CANCELED, ExecutionStatus.STOPPED})
_SUCCESSFUL = frozenset({ExecutionStatus.SUCCEEDED, ExecutionStatus.STOPPED, ExecutionStatus.SKIPPED})
_FAILURE = frozenset({ExecutionStatus.FAILED_CONTINUE, ExecutionStatus.TERMINAL, ExecutionStatus.STOPPED})

#: Upstream statuses that let a downstream stage start.
UPSTREAM_DONE = frozenset(
    {ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED_CONTINUE, ExecutionStatus.SKIPPED}
)
#: Upstream statuses that mean a downstream stage will never start.
UPSTREAM_FAILED = frozenset({ExecutionStatus.TERMINAL, ExecutionStatus.STOPPED, ExecutionStatus.CANCELED})
