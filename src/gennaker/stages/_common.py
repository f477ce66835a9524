"""Small helpers the built-in stages share: Orca's ``context.exception`` shape, lenient numbers and
durations read from stage contexts, and the key that identifies one attempt of a stage."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gennaker.engine.contracts import TaskResult
from gennaker.model.execution import Execution, Stage
from gennaker.model.ids import new_uuid
from gennaker.model.status import ExecutionStatus

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
#: Context key of the id of the current attempt of a stage (see new_attempt).
ATTEMPT_ID = "stageAttemptId"
_SHORT = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<u>ms|s|m|h|d)$", re.IGNORECASE)
_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def exception(
    error: str, errors: list[str] | None = None, *, exception_type: str = "TaskFailed", **details: Any
) -> dict[str, Any]:
    """Orca's ``context.exception``: ``{details: {error, errors, ...}, exceptionType}``."""
    return {
        "details": {"error": error, "errors": list(errors) if errors else [error], **details},
        "exceptionType": exception_type,
        "shouldRetry": False,
    }


def failed(
    error: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: ExecutionStatus = ExecutionStatus.TERMINAL,
    errors: list[str] | None = None,
    exception_type: str = "TaskFailed",
    **details: Any,
) -> TaskResult:
    """A failed task result whose message lands in ``context.exception.details.errors``."""
    ctx = dict(context or {})
    ctx["exception"] = exception(error, errors, exception_type=exception_type, **details)
    return TaskResult(status, ctx)


def as_int(value: Any) -> int | None:
    """An int from an int, a whole float or a numeric string; None otherwise (booleans too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return int(number) if number.is_integer() else None
    return None


def as_number(value: Any) -> float | None:
    """A float from a number or a numeric string; None otherwise (booleans too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def as_bool(value: Any, default: bool) -> bool:
    """A boolean from true/false or "true"/"false" (any case); ``default`` for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return default


def duration_ms(value: Any) -> int | None:
    """Milliseconds from a number of seconds, ``"90s"``/``"5m"``/``"2h"``/``"500ms"``, or an
    ISO-8601 duration (``"PT1H30M"``, what Spinnaker's ``jobRuntimeLimit`` takes); None if absent.

    Raises ValueError for text that is none of these."""
    if value is None or value == "":
        return None
    number = as_number(value)
    if number is not None:
        return int(number * 1000)
    if not isinstance(value, str):
        raise ValueError(f"not a duration: {value!r}")
    text = value.strip()
    short = _SHORT.match(text)
    if short:
        return int(float(short.group("n")) * _UNIT_MS[short.group("u").lower()])
    iso = _DURATION.match(text)
    if iso and text.upper() not in ("P", "PT"):
        parts = {k: float(v) for k, v in iso.groupdict().items() if v}
        return int(
            parts.get("d", 0) * 86_400_000
            + parts.get("h", 0) * 3_600_000
            + parts.get("m", 0) * 60_000
            + parts.get("s", 0) * 1_000
        )
    raise ValueError(f"not a duration: {value!r} (use seconds, '90s', '5m', '2h' or ISO-8601 like 'PT1H')")


def new_attempt(stage: Stage) -> None:
    """Give this attempt of the stage its own id (at plan time, which every start, restart and
    retry goes through; a re-run of a task after a crash keeps it)."""
    stage.context[ATTEMPT_ID] = new_uuid()


def attempt_key(execution: Execution, stage: Stage) -> str:
    """Identifies one attempt of a stage: the same while a task is re-run after a crash, different
    after a restart or an automatic retry."""
    return f"{execution.id}_{stage.id}_{stage.context.get(ATTEMPT_ID) or stage.start_time or 0}"
