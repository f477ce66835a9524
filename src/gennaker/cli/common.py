"""What every client command shares: the endpoint/token/output options, the client, output helpers,
and turning API errors into a message and exit code 1.

Text from the API or from files (names, messages, user names such as ``[anonymous]``) is printed
with Rich markup escaped, so brackets in it are shown, not taken for styles.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from gennaker.cli.client import ApiClient, ClientError, resolve


class Output(StrEnum):
    """Output formats."""

    table = "table"
    json = "json"


ENDPOINT_HELP = "API URL (GENNAKER_ENDPOINT; default http://127.0.0.1:8084)."
TOKEN_HELP = "API token (GENNAKER_TOKEN)."
EndpointOpt = Annotated[str | None, typer.Option("--endpoint", help=ENDPOINT_HELP)]
TokenOpt = Annotated[str | None, typer.Option("--token", help=TOKEN_HELP)]

OutputOpt = Annotated[Output, typer.Option("--output", "-o", help="table for people, json for scripts.")]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def api(endpoint: str | None, token: str | None) -> Iterator[ApiClient]:
    """A client for one command; an API error prints its message and exits 1."""
    try:
        client = ApiClient(resolve(endpoint, token))
    except ClientError as exc:
        raise die(exc.message) from None
    try:
        yield client
    except ClientError as exc:
        raise die(exc.message) from None
    finally:
        client.close()


def die(message: str, code: int = 1) -> typer.Exit:
    """Print an error and return the Exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


def print_json(value: Any) -> None:
    """Plain JSON on stdout (what ``-o json`` prints; reads back unchanged)."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def load_document(path: Path) -> Any:
    """A JSON or YAML file (``-`` reads standard input)."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
    except OSError as exc:
        raise die(f"cannot read {path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        json_problem = str(exc)
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise die(f"{path} is neither valid JSON nor valid YAML: {exc}") from None
    if loaded is None or isinstance(loaded, str | int | float | bool):
        # YAML reads any line of text as a string: that is not a document anyone meant.
        raise die(f"{path} is not valid JSON ({json_problem}) nor a YAML mapping or list") from None
    return loaded


def when(ms: Any) -> str:
    """Epoch milliseconds as local time, or '-'."""
    try:
        return datetime.fromtimestamp(int(ms) / 1000).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, OverflowError, OSError):
        return "-"


def duration(start: Any, end: Any) -> str:
    """``1m05s`` between two epoch-ms times, or '-'."""
    try:
        seconds = max(0, (int(end) - int(start)) // 1000)
    except (TypeError, ValueError):
        return "-"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


STATUS_STYLE = {
    "SUCCEEDED": "green",
    "RUNNING": "cyan",
    "NOT_STARTED": "dim",
    "PAUSED": "yellow",
    "TERMINAL": "red",
    "CANCELED": "magenta",
    "STOPPED": "red",
    "FAILED_CONTINUE": "yellow",
    "SKIPPED": "dim",
}


def status_text(status: Any) -> str:
    """A status in its colour (Rich markup)."""
    value = str(status or "-")
    style = STATUS_STYLE.get(value)
    return f"[{style}]{value}[/]" if style else value


def status_cell(status: Any) -> Text:
    """A status in its colour, as a table cell."""
    return Text.from_markup(status_text(status))


def _is_id_column(name: str) -> bool:
    return name == "ID" or name.endswith(" ID")


def table(
    title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]], console: Console | None = None
) -> None:
    """A rich table on stdout. Ids are never wrapped or cut (they are there to be copied); other
    cells are text as given (markup escaped) and fold when the terminal is narrow."""
    cells = [[c if isinstance(c, Text) else Text("-" if c is None else str(c)) for c in row] for row in rows]
    grid = Table(title=escape(title) if title else None, show_edge=False, header_style="bold")
    for index, column in enumerate(columns):
        if _is_id_column(column):
            widest = max([len(column), *(cell_len(row[index]) for row in cells)])
            grid.add_column(column, no_wrap=True, overflow="ignore", min_width=widest)
        else:
            grid.add_column(column, overflow="fold")
    for row in cells:
        grid.add_row(*row)
    (console or out).print(grid)


def cell_len(cell: Text) -> int:
    """The width a cell takes."""
    return cell.cell_len


def wait_for_task(
    client: ApiClient, ref: str, *, timeout: float = 60.0, sleep: Callable[[float], None] | None = None
) -> dict[str, Any]:
    """Poll a ``/tasks/<id>`` until it completes (as spin does); ClientError when it fails."""
    import time

    pause = sleep or time.sleep
    deadline = time.monotonic() + timeout
    while True:
        task = client.get(ref)
        status = task.get("status")
        if status in ("SUCCEEDED", "STOPPED", "SKIPPED", "TERMINAL", "FAILED_CONTINUE", "CANCELED"):
            if status in ("TERMINAL", "CANCELED"):
                raise ClientError(task_error(task) or f"task {task.get('id')} ended {status}")
            return dict(task)
        if time.monotonic() > deadline:
            raise ClientError(f"task {task.get('id')} did not finish within {timeout:.0f}s (status {status})")
        pause(0.25)


def task_error(task: dict[str, Any]) -> str | None:
    """The first failure message of a task's stages."""
    for stage in (task.get("execution") or {}).get("stages") or []:
        exception = (stage.get("context") or {}).get("exception") or {}
        details = exception.get("details") or {}
        errors = details.get("errors") or []
        if errors:
            return "; ".join(str(e) for e in errors)
        if details.get("error"):
            return str(details["error"])
    return None
