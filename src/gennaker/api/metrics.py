"""Prometheus metrics in the text exposition format (0.0.4), written by hand: no client library.

Execution and stage figures come from the ``events`` table, read incrementally from a cursor, so
they cover every worker process; like any Prometheus counter they start again from zero when this
process restarts (Prometheus's ``rate()`` handles that). Queue figures are read at scrape time.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gennaker.store import json as jsonlib
from gennaker.store.schema import events as events_t

if TYPE_CHECKING:
    from gennaker.services import Services

#: Stage duration buckets, seconds.
BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, float("inf"))
_BATCH = 5_000
_MAX_OPEN_STAGES = 100_000


class Histogram:
    """Cumulative buckets, sum and count for one label set."""

    def __init__(self) -> None:
        self.counts = [0] * len(BUCKETS)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        """Add one observation."""
        for index, bound in enumerate(BUCKETS):
            if value <= bound:
                self.counts[index] += 1
        self.total += value
        self.count += 1


class MetricsCollector:
    """Folds new events into counters at each scrape and renders the exposition text."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._lock = threading.Lock()
        self._cursor = 0
        self.started: dict[str, int] = defaultdict(int)
        self.finished: dict[tuple[str, str], int] = defaultdict(int)
        self.stage_durations: dict[str, Histogram] = defaultdict(Histogram)
        self._open_stages: dict[str, int] = {}
        #: Set by the process runner when a worker runs in this process.
        self.processor: Any = None

    def _fold(self) -> None:
        while True:
            stmt = (
                sa.select(events_t.c.id, events_t.c.ts, events_t.c.type, events_t.c.body)
                .where(events_t.c.id > self._cursor)
                .order_by(events_t.c.id)
                .limit(_BATCH)
            )
            with self.services.db.read() as conn:
                rows = conn.execute(stmt).all()
            for row in rows:
                self._apply(row.type, int(row.ts), row.body)
            if rows:
                self._cursor = int(rows[-1].id)
            if len(rows) < _BATCH:
                return

    def _apply(self, kind: str, ts: int, raw: str) -> None:
        if kind == "pipeline.starting":
            body = jsonlib.loads(raw)
            self.started[str(body.get("executionType") or "PIPELINE")] += 1
        elif kind in ("pipeline.complete", "pipeline.failed"):
            body = jsonlib.loads(raw)
            key = (str(body.get("executionType") or "PIPELINE"), str(body.get("status") or "UNKNOWN"))
            self.finished[key] += 1
        elif kind == "stage.starting":
            body = jsonlib.loads(raw)
            if len(self._open_stages) < _MAX_OPEN_STAGES:
                self._open_stages[str(body.get("stageId"))] = ts
        elif kind in ("stage.complete", "stage.failed"):
            body = jsonlib.loads(raw)
            start = self._open_stages.pop(str(body.get("stageId")), None)
            if start is not None:
                self.stage_durations[str(body.get("stageType") or "unknown")].observe((ts - start) / 1000)

    def render(self) -> str:
        """The exposition text for one scrape."""
        with self._lock:
            self._fold()
            lines: list[str] = []
            _family(
                lines,
                "gennaker_executions_started_total",
                "counter",
                "Executions that started running.",
                ((f'type="{t}"', n) for t, n in sorted(self.started.items())),
            )
            _family(
                lines,
                "gennaker_executions_finished_total",
                "counter",
                "Executions that ended, by final status.",
                ((f'type="{t}",status="{s}"', n) for (t, s), n in sorted(self.finished.items())),
            )
            name = "gennaker_stage_duration_seconds"
            lines.append(f"# HELP {name} Time from a stage's start to its end.")
            lines.append(f"# TYPE {name} histogram")
            for stage_type, hist in sorted(self.stage_durations.items()):
                label = f'stage_type="{_escape(stage_type)}"'
                for bound, count in zip(BUCKETS, hist.counts, strict=True):
                    le = "+Inf" if bound == float("inf") else repr(bound)
                    lines.append(f'{name}_bucket{{{label},le="{le}"}} {count}')
                lines.append(f"{name}_sum{{{label}}} {hist.total}")
                lines.append(f"{name}_count{{{label}}} {hist.count}")
        self._queue(lines)
        if self.processor is not None:
            _family(
                lines,
                "gennaker_worker_messages_handled_total",
                "counter",
                "Messages handled by the worker in this process.",
                [("", int(self.processor.handled))],
            )
        return "\n".join(lines) + "\n"

    def _queue(self, lines: list[str]) -> None:
        queue = self.services.queue
        ready, in_flight = queue.depth()
        next_at = queue.next_visible_at()
        now = self.services.clock.now_ms()
        lag = max(0, now - next_at) / 1000 if next_at is not None else 0.0
        _family(lines, "gennaker_queue_ready", "gauge", "Messages deliverable now.", [("", ready)])
        _family(lines, "gennaker_queue_in_flight", "gauge", "Messages leased by a worker.", [("", in_flight)])
        _family(
            lines,
            "gennaker_queue_lag_seconds",
            "gauge",
            "How long the oldest deliverable message has waited past its delivery time.",
            [("", lag)],
        )


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(
    lines: list[str], name: str, kind: str, help_text: str, samples: Iterable[tuple[str, float]]
) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    for labels, value in samples:
        lines.append(f"{name}{{{labels}}} {value}" if labels else f"{name} {value}")
