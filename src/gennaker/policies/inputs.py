"""The documents policies are evaluated against, one shape per scope (docs/policies.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gennaker.model.execution import Execution, Stage

Json = dict[str, Any]


def _ancestors(stages: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Every stage's upstream refIds, transitively, in a stable order."""
    by_ref = {str(s.get("refId")): s for s in stages}
    found: dict[str, list[str]] = {}
    for ref in by_ref:
        seen: list[str] = []
        stack = [str(r) for r in by_ref[ref].get("requisiteStageRefIds") or []]
        while stack:
            nxt = stack.pop()
            if nxt in seen or nxt not in by_ref:
                continue
            seen.append(nxt)
            stack.extend(str(r) for r in by_ref[nxt].get("requisiteStageRefIds") or [])
        found[ref] = seen
    return found


def accounts(context: Mapping[str, Any]) -> list[str]:
    """The accounts a stage acts on, wherever its type keeps them (``account``, ``credentials``,
    ``clusters[].account``, ``deployments...``), so one rule covers every stage that deploys."""
    found: list[str] = []

    def add(value: Any) -> None:
        if isinstance(value, str) and value and value not in found:
            found.append(value)

    def visit(node: Any, depth: int) -> None:
        if depth > 4:
            return
        if isinstance(node, Mapping):
            add(node.get("account"))
            add(node.get("credentials"))
            for key in ("clusters", "cluster", "deployments", "serverGroups", "baseline", "canary"):
                visit(node.get(key), depth + 1)
        elif isinstance(node, list):
            for item in node:
                visit(item, depth + 1)

    visit(context, 0)
    return found


def stage_summaries(stages: Sequence[Mapping[str, Any]]) -> list[Json]:
    """Each stage of a config with the types of the stages that run before it."""
    ancestors = _ancestors(stages)
    by_ref = {str(s.get("refId")): s for s in stages}
    return [
        {
            "refId": str(s.get("refId")),
            "type": s.get("type"),
            "name": s.get("name"),
            "context": dict(s),
            "accounts": accounts(s),
            "ancestorTypes": [by_ref[a].get("type") for a in ancestors.get(str(s.get("refId")), [])],
        }
        for s in stages
        if isinstance(s, Mapping)
    ]


def save_input(config: Mapping[str, Any], *, kind: str, user: str | None) -> Json:
    """A pipeline config or template being saved."""
    pipeline = (
        config.get("pipeline")
        if kind == "template" and isinstance(config.get("pipeline"), Mapping)
        else config
    )
    stages = [s for s in (pipeline or {}).get("stages") or [] if isinstance(s, Mapping)]
    return {
        "scope": "save",
        "kind": kind,
        "pipeline": dict(config),
        "application": config.get("application"),
        "user": user or "anonymous",
        "stages": stage_summaries(stages),
    }


def start_input(execution: Execution) -> Json:
    """An execution about to start."""
    stages = [s.context | {"refId": s.ref_id, "type": s.type, "name": s.name, "requisiteStageRefIds": s.requisite_stage_ref_ids}
              for s in execution.top_level()]  # fmt: skip
    return {
        "scope": "start",
        "pipeline": {
            "id": execution.pipeline_config_id,
            "application": execution.application,
            "name": execution.name,
        },
        "trigger": dict(execution.trigger),
        "user": str((execution.authentication or {}).get("user") or "anonymous"),
        "stages": stage_summaries(stages),
    }


def _brief(stage: Stage) -> Json:
    return {"refId": stage.ref_id, "type": stage.type, "name": stage.name, "status": stage.status.value}


def stage_input(execution: Execution, stage: Stage) -> Json:
    """A stage about to start, with its context after expressions and the execution so far."""
    top = list(execution.top_level())
    by_ref = {s.ref_id: s for s in top}
    owner = stage
    while (
        owner.parent_stage_id is not None and (parent := execution.stage(owner.parent_stage_id)) is not None
    ):
        owner = parent
    ancestors = _ancestors(
        [{"refId": s.ref_id, "requisiteStageRefIds": s.requisite_stage_ref_ids} for s in top]
    )
    return {
        "scope": "stage",
        "stage": {
            **_brief(stage),
            "context": dict(stage.context),
            "accounts": accounts(stage.context),
            "synthetic": stage.parent_stage_id is not None,
        },
        "ancestors": [_brief(by_ref[r]) for r in ancestors.get(str(owner.ref_id), []) if r in by_ref],
        "execution": {
            "id": execution.id,
            "application": execution.application,
            "name": execution.name,
            "trigger": dict(execution.trigger),
            "stages": [_brief(s) for s in execution.stages],
        },
        "user": str((execution.authentication or {}).get("user") or "anonymous"),
    }
