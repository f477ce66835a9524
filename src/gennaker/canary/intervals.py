"""Orca's canary interval planning (RunCanaryIntervalsStage), as pure functions of the stage's
``canaryConfig`` and the time the intervals are planned.

- Lifetime: whole minutes from the start (or now) to ``scopes[0].endTimeIso`` when set, else
  ``lifetimeDuration`` (ISO-8601) or the deprecated ``lifetimeHours``.
- Interval: ``canaryAnalysisIntervalMins``, or the lifetime when unset, 0 or longer; there are
  lifetime // interval judgements.
- A "Warmup Wait" of ``beginCanaryAnalysisAfterMins`` when above 0 (retrospective runs too).
- In real time each judgement waits one interval first ("Interval Wait #i").
- Window i: real time from start + warm-up to start + warm-up + i * interval; retrospective from
  start to start + i * interval (growing); ``lookbackMins`` makes it end - lookback (sliding). The
  control window is moved back by ``baselineAnalysisOffsetInMins``; both use ``scopes[0].step``.

Written so that ``deployments`` (baseline and canary server groups deployed by the stage) can add its
scopes later: ``request_scopes`` takes the scope names and locations to use per scope.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gennaker.canary.store import iso

MINUTE = 60_000
_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE
)


class CanaryStageError(ValueError):
    """The stage's canaryConfig cannot be planned; the message is Orca's where Orca has one."""


def _int(value: Any, name: str, default: int = 0) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise CanaryStageError(f"canaryConfig.{name} must be a whole number of minutes, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CanaryStageError(
            f"canaryConfig.{name} must be a whole number of minutes, got {value!r}"
        ) from None
    if number < 0 or not number.is_integer():
        raise CanaryStageError(f"canaryConfig.{name} must be a whole number of minutes, got {value!r}")
    return int(number)


def _instant(value: Any, where: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise CanaryStageError(
            f"{where} must be an ISO-8601 instant like 2025-01-01T00:00:00Z, got {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def duration_ms(value: Any) -> int | None:
    """An ISO-8601 duration (``PT1H``, ``P1D``) in milliseconds."""
    if value in (None, ""):
        return None
    match = _ISO_DURATION.match(str(value).strip())
    if not match or str(value).strip().upper() in ("P", "PT"):
        raise CanaryStageError(
            f"canaryConfig.lifetimeDuration must be an ISO-8601 duration like PT1H, got {value!r}"
        )
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return int(
        parts.get("d", 0) * 86_400_000
        + parts.get("h", 0) * 3_600_000
        + parts.get("m", 0) * MINUTE
        + parts.get("s", 0) * 1000
    )


@dataclass(frozen=True)
class Plan:
    """What the intervals stage plans: an optional warm-up, then per interval a window."""

    warmup_ms: int
    interval_ms: int
    real_time: bool
    windows: tuple[tuple[int, int], ...]


def plan(canary_config: Mapping[str, Any], now_ms: int) -> Plan:
    """The windows (experiment side, epoch ms) Orca computes when the intervals stage starts."""
    scopes = canary_config.get("scopes") or []
    if not isinstance(scopes, list) or not scopes or not isinstance(scopes[0], Mapping):
        raise CanaryStageError("Canary stage configuration must contain at least one scope.")
    first = scopes[0]
    start = _instant(first.get("startTimeIso"), "canaryConfig.scopes[0].startTimeIso")
    end = _instant(first.get("endTimeIso"), "canaryConfig.scopes[0].endTimeIso")
    origin = start if start is not None else now_ms
    if end is not None:
        lifetime = (end - origin) // MINUTE * MINUTE
    elif canary_config.get("lifetimeDuration") not in (None, ""):
        lifetime = duration_ms(canary_config["lifetimeDuration"]) or 0
    elif canary_config.get("lifetimeHours") not in (None, ""):
        lifetime = _int(canary_config["lifetimeHours"], "lifetimeHours") * 60 * MINUTE
    else:
        raise CanaryStageError(
            "Canary stage configuration must include either `endTime` or `lifetimeDuration`."
        )
    if lifetime < MINUTE:
        raise CanaryStageError("The canary lifetime must be at least one minute.")
    raw_interval = canary_config.get("canaryAnalysisIntervalMins")
    interval = (
        _int(raw_interval, "canaryAnalysisIntervalMins") * MINUTE
        if raw_interval not in (None, "")
        else lifetime
    )
    if interval == 0 or interval > lifetime:
        interval = lifetime
    interval = interval // MINUTE * MINUTE or MINUTE
    warmup = _int(canary_config.get("beginCanaryAnalysisAfterMins"), "beginCanaryAnalysisAfterMins") * MINUTE
    lookback = _int(canary_config.get("lookbackMins"), "lookbackMins") * MINUTE
    count = (lifetime // MINUTE) // (interval // MINUTE)
    windows = []
    for i in range(1, count + 1):
        if end is None:
            window_start, window_end = origin + warmup, origin + warmup + i * interval
        else:
            window_start, window_end = origin, origin + i * interval
        if lookback > 0:
            window_start = window_end - lookback
        windows.append((window_start, window_end))
    return Plan(warmup, interval, end is None, tuple(windows))


def request_scopes(canary_config: Mapping[str, Any], window: tuple[int, int]) -> dict[str, Any]:
    """The CanaryExecutionRequest scopes of one window, for every configured scope."""
    scopes = canary_config.get("scopes") or []
    offset = _int(canary_config.get("baselineAnalysisOffsetInMins"), "baselineAnalysisOffsetInMins") * MINUTE
    step = scopes[0].get("step", 60) if scopes else 60
    try:
        step_s = int(float(step))
    except (TypeError, ValueError):
        raise CanaryStageError(
            f"canaryConfig.scopes[0].step must be a number of seconds, got {step!r}"
        ) from None
    start, end = window
    found: dict[str, Any] = {}
    for scope in scopes:
        extended = dict(scope.get("extendedScopeParams") or {})
        control = {
            "scope": scope.get("controlScope"),
            "location": scope.get("controlLocation"),
            "start": iso(start - offset),
            "end": iso(end - offset),
            "step": step_s,
            "extendedScopeParams": extended,
        }
        experiment = {
            **control,
            "scope": scope.get("experimentScope"),
            "location": scope.get("experimentLocation"),
            "start": iso(start),
            "end": iso(end),
            "extendedScopeParams": dict(extended),
        }
        found[str(scope.get("scopeName") or "default")] = {
            "controlScope": control,
            "experimentScope": experiment,
        }
    return found


def thresholds(canary_config: Mapping[str, Any]) -> dict[str, float | None]:
    """``scoreThresholds`` with Orca's defaults (75 / 50); numbers given as strings are read."""
    raw = canary_config.get("scoreThresholds")
    if raw is None:
        return {"pass": 75.0, "marginal": 50.0}
    if not isinstance(raw, Mapping):
        raise CanaryStageError("canaryConfig.scoreThresholds must be an object with pass and marginal")
    found: dict[str, float | None] = {}
    for key in ("pass", "marginal"):
        value = raw.get(key)
        if value in (None, ""):
            found[key] = None
            continue
        try:
            found[key] = float(value)
        except (TypeError, ValueError):
            raise CanaryStageError(
                f"canaryConfig.scoreThresholds.{key} must be a number, got {value!r}"
            ) from None
    return found
