"""Following an execution live: a snapshot, then stage-by-stage progress from the event stream,
until it completes. Returns whether it succeeded."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from gennaker.cli.client import ApiClient
from gennaker.cli.common import duration, out, status_text, when

COMPLETE = {"SUCCEEDED", "FAILED_CONTINUE", "TERMINAL", "CANCELED", "STOPPED", "SKIPPED"}


def _stage_line(name: Any, kind: Any, status: Any, synthetic: bool = False) -> None:
    indent = "    " if synthetic else "  "
    out.print(f"{indent}[bold]{escape(str(name))}[/] [dim]({escape(str(kind))})[/]  {status_text(status)}")


def _summary(execution: dict[str, Any]) -> None:
    status = execution.get("status")
    took = duration(execution.get("startTime") or execution.get("buildTime"), execution.get("endTime"))
    out.print(f"Execution [bold]{execution.get('id')}[/] {status_text(status)} [dim](took {took})[/]")
    for stage in execution.get("stages") or []:
        exception = ((stage.get("context") or {}).get("exception") or {}).get("details") or {}
        if stage.get("status") in ("TERMINAL", "STOPPED") and exception:
            errors = exception.get("errors") or [exception.get("error")]
            text = f"{stage.get('name')}: {'; '.join(str(e) for e in errors if e)}"
            out.print(f"  [red]{escape(text)}[/]")
    if execution.get("canceled"):
        reason = execution.get("cancellationReason")
        text = f"canceled by {execution.get('canceledBy') or 'someone'}{f': {reason}' if reason else ''}"
        out.print(f"  {escape(text)}")


def watch(client: ApiClient, execution_id: str) -> bool:
    """Print progress until the execution completes; True if it SUCCEEDED."""
    events = client.events(execution_id=execution_id)
    next(events)  # the stream is open: nothing from here on is missed
    execution = client.get(f"/pipelines/{execution_id}")
    out.print(
        f"Watching [bold]{escape(str(execution.get('name') or execution_id))}[/] ({execution_id}), "
        f"started {when(execution.get('buildTime'))}"
    )
    shown: dict[str, str] = {}  # stage id -> status printed last (the snapshot and events overlap)
    for stage in execution.get("stages") or []:
        if stage.get("status") != "NOT_STARTED" and not stage.get("parentStageId"):
            shown[str(stage.get("id"))] = str(stage.get("status"))
            _stage_line(stage.get("name"), stage.get("type"), stage.get("status"))
    while execution.get("status") not in COMPLETE:
        event = next(events)
        if event is None:  # quiet for a while: look at the execution itself
            execution = client.get(f"/pipelines/{execution_id}")
            continue
        kind = str(event.get("type") or "")
        if kind.startswith("stage."):
            if shown.get(str(event.get("stageId"))) == str(event.get("status")):
                continue
            shown[str(event.get("stageId"))] = str(event.get("status"))
            _stage_line(
                event.get("stageName"),
                event.get("stageType"),
                event.get("status"),
                bool(event.get("synthetic")),
            )
        elif kind.startswith("pipeline."):
            out.print(f"[dim]{escape(kind)}[/]  {status_text(event.get('status'))}")
            if event.get("status") in COMPLETE:
                execution = client.get(f"/pipelines/{execution_id}")
    events.close()
    _summary(execution)
    return bool(execution.get("status") == "SUCCEEDED")
