"""Orca's interval planning (reference §5.5: orca-kayenta's RunCanaryIntervalsStageTest)."""

from __future__ import annotations

from typing import Any

import pytest

from gennaker.canary.intervals import MINUTE, CanaryStageError, plan, request_scopes, thresholds
from gennaker.canary.store import iso

START = 1_767_225_600_000  # 2026-01-01T00:00:00Z
HOUR = 60 * MINUTE


def retrospective(**config: Any) -> dict[str, Any]:
    scope = {"controlScope": "base", "experimentScope": "canary", "startTimeIso": iso(START),
             "endTimeIso": iso(START + 4 * HOUR), "step": 60}  # fmt: skip
    return {"scopes": [scope], **config}


def minutes(windows: tuple[tuple[int, int], ...], origin: int = START) -> list[list[int]]:
    return [[(a - origin) // MINUTE, (b - origin) // MINUTE] for a, b in windows]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, [[0, 240]]),
        ({"canaryAnalysisIntervalMins": 60}, [[0, 60], [0, 120], [0, 180], [0, 240]]),
        (
            {"canaryAnalysisIntervalMins": 60, "lookbackMins": 60},
            [[0, 60], [60, 120], [120, 180], [180, 240]],
        ),
        ({"lookbackMins": 120}, [[120, 240]]),
        ({"canaryAnalysisIntervalMins": 300}, [[0, 240]]),
        (
            {"canaryAnalysisIntervalMins": 60, "beginCanaryAnalysisAfterMins": 15},
            [[0, 60], [0, 120], [0, 180], [0, 240]],
        ),
    ],
)
def test_retrospective_windows(config: dict[str, Any], expected: list[list[int]]) -> None:
    planned = plan(retrospective(**config), now_ms=START + 10 * HOUR)
    assert minutes(planned.windows) == expected
    assert not planned.real_time
    assert planned.warmup_ms == config.get("beginCanaryAnalysisAfterMins", 0) * MINUTE


def test_real_time_with_warmup_and_a_lifetime() -> None:
    base = {"scopes": [{"controlScope": "b", "experimentScope": "c"}], "lifetimeDuration": "PT48H"}
    now = START
    one = plan({**base, "beginCanaryAnalysisAfterMins": 45}, now)
    assert minutes(one.windows) == [[45, 45 + 2880]]
    assert one.real_time
    six = plan(
        {**base, "beginCanaryAnalysisAfterMins": 45, "canaryAnalysisIntervalMins": 480, "lookbackMins": 60},
        now,
    )
    assert minutes(six.windows) == [[45 + 480 * i - 60, 45 + 480 * i] for i in range(1, 7)]
    assert minutes(six.windows)[:2] == [[45 + 420, 45 + 480], [45 + 900, 45 + 960]]


def test_lifetime_hours_is_still_read() -> None:
    planned = plan({"scopes": [{}], "lifetimeHours": 2, "canaryAnalysisIntervalMins": 30}, START)
    assert len(planned.windows) == 4


def test_baseline_offset_moves_the_control_window_back() -> None:
    config = retrospective(baselineAnalysisOffsetInMins=30)
    scopes = request_scopes(config, (START, START + HOUR))
    control, experiment = scopes["default"]["controlScope"], scopes["default"]["experimentScope"]
    assert (control["start"], control["end"]) == (iso(START - 30 * MINUTE), iso(START + 30 * MINUTE))
    assert (experiment["start"], experiment["end"]) == (iso(START), iso(START + HOUR))
    assert (control["scope"], experiment["scope"], control["step"]) == ("base", "canary", 60)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"scopes": []}, "at least one scope"),
        ({"scopes": [{}]}, "either `endTime` or `lifetimeDuration`"),
        ({"scopes": [{}], "lifetimeDuration": "an hour"}, "ISO-8601 duration"),
        ({"scopes": [{}], "lifetimeDuration": "PT1H", "lookbackMins": -5}, "lookbackMins"),
    ],
)
def test_unplannable_configs(config: dict[str, Any], message: str) -> None:
    with pytest.raises(CanaryStageError, match=message):
        plan(config, START)


def test_thresholds_default_to_75_and_50_and_read_strings() -> None:
    assert thresholds({}) == {"pass": 75.0, "marginal": 50.0}
    assert thresholds({"scoreThresholds": {"pass": "80", "marginal": "60"}}) == {
        "pass": 80.0,
        "marginal": 60.0,
    }
