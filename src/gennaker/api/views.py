"""Execution JSON as Gate returns it: whole, or without stage contexts and outputs (``expand=false``),
and Gate's task view of an orchestration."""

from __future__ import annotations

from typing import Any

from gennaker.model.execution import Execution
from gennaker.model.redaction import redact


def execution_json(execution: Execution, *, expand: bool = True) -> dict[str, Any]:
    """Spinnaker's execution JSON; without ``expand``, stage ``context`` and ``outputs`` are empty."""
    data: dict[str, Any] = redact(execution.to_json())
    if not expand:
        for stage in data["stages"]:
            stage["context"] = {}
            stage["outputs"] = {}
    return data


def task_view(execution: Execution) -> dict[str, Any]:
    """Gate's ``GET /tasks/{id}``: the orchestration with its merged variables and every task as a step."""
    variables: dict[str, Any] = {}
    steps: list[dict[str, Any]] = []
    for stage in execution.stages:
        variables.update(stage.context)
        variables.update(stage.outputs)
        steps.extend(task.to_json() for task in stage.tasks)
    view: dict[str, Any] = {
        "id": execution.id,
        "name": execution.description or execution.name,
        "application": execution.application,
        "status": execution.status.value,
        "variables": [{"key": k, "value": v} for k, v in variables.items()],
        "steps": steps,
        "buildTime": execution.build_time,
        "startTime": execution.start_time,
        "endTime": execution.end_time,
        "execution": execution.to_json(),
    }
    redacted: dict[str, Any] = redact(view)
    return redacted
